import { randomBytes } from 'node:crypto';
import type { RealtimeClient } from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import type { E2eStack } from '../support/e2e-stack';
import {
  gatewayClients,
  loginThrough,
  newUser,
  setupCeo,
  startFullStack,
  type FlowUser,
} from '../support/full-stack';
import type { GatewayHttp, HttpVersion } from '../support/gateway-http';
import { gatewaySocket, type SocketTransport } from '../support/gateway-realtime';

// DESIGN.md sections 4-6: what member, manager and ceo may do, on every service, through the gateway.

type Who = 'ceo' | 'manager' | 'member';
const ROLES: Who[] = ['ceo', 'manager', 'member'];

let stack: E2eStack;
let ceo: GatewayHttp & { token: string };
const fileClients = gatewayClients(() => stack);

beforeAll(async () => {
  stack = await startFullStack();
  ceo = await setupCeo(fileClients, 'roles.ceo', '127.0.0.200');
}, 120_000);
afterAll(async () => {
  await fileClients.closeAll();
  await stack?.cleanup();
});

/** One request and the status (with the problem code of a refusal) each role gets. */
interface Rule {
  what: string;
  method: string;
  path: (target: FlowUser) => string;
  /** A user made for this rule alone (the call changes it), rather than the shared member. */
  freshTarget?: boolean;
  body?: () => unknown;
  headers?: Record<string, string>;
  expected: Record<Who, number>;
}

const bench = () => `/api/v1/settings/bench/roles_${randomBytes(4).toString('hex')}`;

const RULES: Rule[] = [
  {
    what: 'auth: list users',
    method: 'GET',
    path: () => '/api/v1/users',
    expected: { ceo: 200, manager: 200, member: 403 },
  },
  {
    what: 'auth: create a user',
    method: 'POST',
    path: () => '/api/v1/users',
    body: () => ({ username: `made.${randomBytes(5).toString('hex')}`, password: PASSWORD, role: 'member' }),
    expected: { ceo: 201, manager: 403, member: 403 },
  },
  {
    what: 'auth: change a role',
    method: 'PATCH',
    path: (other) => `/api/v1/users/${other.id}`,
    freshTarget: true,
    body: () => ({ role: 'member' }),
    expected: { ceo: 200, manager: 403, member: 403 },
  },
  {
    what: "auth: every user's sessions",
    method: 'GET',
    path: () => '/api/v1/auth/sessions?scope=all',
    expected: { ceo: 200, manager: 403, member: 403 },
  },
  {
    what: "auth: revoke another user's sessions",
    method: 'DELETE',
    path: (other) => `/api/v1/users/${other.id}/sessions`,
    freshTarget: true,
    expected: { ceo: 200, manager: 403, member: 403 },
  },
  {
    what: 'auth: own identity',
    method: 'GET',
    path: () => '/api/v1/auth/me',
    expected: { ceo: 200, manager: 200, member: 200 },
  },
  {
    what: 'settings: read',
    method: 'GET',
    path: () => '/api/v1/settings/api',
    expected: { ceo: 200, manager: 200, member: 200 },
  },
  {
    what: 'settings: write a bench key',
    method: 'PUT',
    path: bench,
    body: () => ({ value: 1 }),
    headers: { 'if-match': '"0"' },
    expected: { ceo: 200, manager: 200, member: 403 },
  },
  {
    what: 'settings: write a restart-required key (ceo only)',
    method: 'PUT',
    path: () => '/api/v1/settings/api/server_host',
    body: () => ({ value: '127.0.0.1' }),
    expected: { ceo: 200, manager: 403, member: 403 },
  },
  {
    what: 'realtime: publish on a channel',
    method: 'POST',
    path: () => '/api/v1/realtime/channels/roles/messages',
    body: () => ({ event: 'note', data: 1 }),
    expected: { ceo: 202, manager: 202, member: 403 },
  },
  {
    what: 'realtime: message a user',
    method: 'POST',
    path: (other) => `/api/v1/realtime/users/${other.id}/messages`,
    body: () => ({ event: 'note', data: 1 }),
    expected: { ceo: 202, manager: 202, member: 403 },
  },
];

/** Each HTTP version with one socket transport, from its own block of addresses. */
const COMBINATIONS: [HttpVersion, SocketTransport, number][] = [
  ['h2', 'websocket', 210],
  ['http/1.1', 'polling', 220],
];

describe.each(COMBINATIONS)('roles over %s (sockets over %s)', (version, transport, block) => {
  const http = gatewayClients(() => stack);
  const sockets: RealtimeClient[] = [];
  const users = {} as Record<Who, FlowUser>;

  beforeAll(async () => {
    for (const [i, role] of ROLES.entries()) {
      users[role] =
        role === 'ceo'
          ? {
              id: '',
              username: 'roles.ceo',
              role,
              http: http.open(version, `127.0.0.${block + i}`),
              token: '',
              sessionId: '',
            }
          : await newUser(ceo, role, http.open(version, `127.0.0.${block + i}`));
    }
    Object.assign(users.ceo, await loginThrough(users.ceo.http, 'roles.ceo'));
  });
  afterAll(async () => {
    for (const s of sockets.splice(0)) s.close();
    await http.closeAll();
  });

  it.each(RULES.map((r) => [r.what, r] as const))('%s', async (_what, rule) => {
    const statuses: Record<string, unknown> = {};
    const target = rule.freshTarget
      ? await newUser(ceo, 'member', http.open(version, `127.0.0.${block + 5}`))
      : users.member;
    for (const role of ROLES) {
      const res = await users[role].http.request<{ code?: number }>(rule.method, rule.path(target), {
        token: users[role].token,
        body: rule.body?.(),
        headers: rule.headers,
      });
      statuses[role] = res.status === 403 ? [403, res.body.code] : res.status;
      expect(res.protocol).toBe(version);
    }

    expect(statuses).toEqual(
      Object.fromEntries(ROLES.map((r) => [r, rule.expected[r] === 403 ? [403, 1001] : rule.expected[r]])),
    );
  });

  it.each([
    ['budget', { ceo: true, manager: true, member: 1001 }],
    ['budget:q3', { ceo: true, manager: true, member: 1001 }],
    ['settings', { ceo: true, manager: true, member: true }],
    ['session:any', { ceo: 1001, manager: 1001, member: 1001 }],
    ['internal:ops', { ceo: 1001, manager: 1001, member: 1001 }],
  ])('realtime: subscribing to %s', async (channel, expected) => {
    const acks: Record<string, unknown> = {};
    for (const [i, role] of ROLES.entries()) {
      const s = gatewaySocket(stack, users[role].token, { localAddress: `127.0.0.${block + i}`, transport });
      sockets.push(s);
      await s.connected();
      const ack = await s.subscribe(channel);
      acks[role] = ack.ok ? true : ack.error.code;
      s.close();
    }

    expect(acks).toEqual(expected);
  });

  it("realtime: nobody subscribes to another user's channel, everyone to their own", async () => {
    const acks: Record<string, unknown> = {};
    for (const [i, role] of ROLES.entries()) {
      const s = gatewaySocket(stack, users[role].token, { localAddress: `127.0.0.${block + i}`, transport });
      sockets.push(s);
      await s.connected();
      const me = (
        await users[role].http.request<{ id: string }>('GET', '/api/v1/auth/me', { token: users[role].token })
      ).body.id;
      const stranger = users[role === 'member' ? 'manager' : 'member'];
      const own = await s.subscribe(`user:${me}`);
      const theirs = await s.subscribe(`user:${stranger.id}`);
      acks[role] = [own.ok, theirs.ok ? true : theirs.error.code];
      s.close();
    }

    expect(acks).toEqual({ ceo: [true, 1001], manager: [true, 1001], member: [true, 1001] });
  });
});
