import { randomBytes } from 'node:crypto';
import { RealtimeConnectError, type RealtimeClient, type SettingsChangedEvent } from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import { collect, nextEvent } from '../../services/realtime-service/test/support/realtime-harness';
import type { E2eStack } from '../support/e2e-stack';
import { gatewayClients, loginThrough, newUser, startFullStack, type FlowUser } from '../support/full-stack';
import type { GatewayHttp, HttpVersion } from '../support/gateway-http';
import {
  addressPerRealtimeReplica,
  gatewaySocket,
  socketsOn,
  type SocketTransport,
} from '../support/gateway-realtime';
import { eventually } from '../support/stored-setting';

// The cross-service flow of issue 9 through the gateway, on two replicas of every service.

/** Generous bound for an event or a cut to reach a socket (relay poll, busy machine). */
const EVENT_BOUND_MS = Number(process.env.TEST_E2E_EVENT_BOUND_MS ?? 10_000);
/** A wait long enough for a duplicate event to have arrived too. */
const QUIET_MS = Number(process.env.TEST_E2E_QUIET_MS ?? 500);

let stack: E2eStack;
let ceo: (GatewayHttp & { token: string }) | undefined;
const http = gatewayClients(() => stack);
/** The ceo's client lives for the whole file. */
const fileClients = gatewayClients(() => stack);
const sockets: RealtimeClient[] = [];

beforeAll(async () => {
  stack = await startFullStack();
}, 120_000);
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await http.closeAll();
  // Every socket of a test is gone before the next one counts the replicas' sockets.
  await eventually(
    async () => (await Promise.all(stack.realtime.map(socketsOn))).every((n) => n === 0),
    EVENT_BOUND_MS,
  );
});
afterAll(async () => {
  await fileClients.closeAll();
  await stack?.cleanup();
});

function socket(token: string, localAddress: string, transport: SocketTransport): RealtimeClient {
  const s = gatewaySocket(stack, token, { localAddress, transport });
  sockets.push(s);
  return s;
}

function ceoClient(): GatewayHttp & { token: string } {
  if (!ceo) throw new Error('the setup test runs first and makes the ceo');
  return ceo;
}

describe('first-user setup through the gateway', () => {
  it('four concurrent setups over HTTP/2 and HTTP/1.1: exactly one creates the ceo, the others answer 409 code 4000', async () => {
    const attempts = (['h2', 'http/1.1', 'h2', 'http/1.1'] as HttpVersion[]).map((version, i) => ({
      username: `flow.ceo${i}`,
      http: http.open(version, `127.0.0.${140 + i}`),
    }));

    const answers = await Promise.all(
      attempts.map((a) =>
        a.http.request<{ role?: string; code?: number }>('POST', '/api/v1/auth/setup', {
          body: { username: a.username, password: PASSWORD },
        }),
      ),
    );
    const winner = answers.findIndex((a) => a.status === 201);

    expect(answers.map((a) => a.protocol)).toEqual(['h2', 'http/1.1', 'h2', 'http/1.1']);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
    expect(answers[winner]!.body.role).toBe('ceo');
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body.code).toBe(4000);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const keep = fileClients.open('h2', '127.0.0.145');
    ceo = Object.assign(keep, { token: (await loginThrough(keep, attempts[winner]!.username)).token });
  });
});

/** Each HTTP version with one socket transport: both versions and both transports are covered. */
const COMBINATIONS: [HttpVersion, SocketTransport, number][] = [
  ['h2', 'websocket', 150],
  ['http/1.1', 'polling', 180],
];

describe.each(COMBINATIONS)('over %s with sockets over %s', (version, transport, firstAddress) => {
  /** A manager whose HTTP client and two sockets (one per realtime replica) come from distinct addresses. */
  async function managerOnBothReplicas(): Promise<{
    user: FlowUser;
    addresses: string[];
    onReplica: RealtimeClient[];
  }> {
    const addresses = await addressPerRealtimeReplica(stack, firstAddress);
    const user = await newUser(ceoClient(), 'manager', http.open(version, addresses[0]!));
    const onReplica = addresses.map((a) => socket(user.token, a, transport));
    await Promise.all(onReplica.map((s) => s.connected()));
    // The replicas' own gauges: exactly one socket on each (the polling header placed the addresses).
    await eventually(
      async () => (await Promise.all(stack.realtime.map(socketsOn))).join() === '1,1',
      EVENT_BOUND_MS,
    );
    return { user, addresses, onReplica };
  }

  it('a settings write with If-Match reaches a settings subscriber on the other realtime replica once, a stale If-Match answers 412', async () => {
    const { user, onReplica } = await managerOnBothReplicas();
    const acks = await Promise.all(onReplica.map((s) => s.subscribe('settings')));
    const seen = onReplica.map((s) => collect<SettingsChangedEvent>(s, 'settings.changed'));
    const key = `flow_${randomBytes(4).toString('hex')}`;
    const path = `/api/v1/settings/bench/${key}`;

    const before = await user.http.request('GET', path, { token: user.token });
    const write = await user.http.request<{ value: number; revision: number }>('PUT', path, {
      token: user.token,
      body: { value: 7 },
      headers: { 'if-match': String(before.headers.etag) },
    });
    const stale = await user.http.request<{ code: number }>('PUT', path, {
      token: user.token,
      body: { value: 8 },
      headers: { 'if-match': String(before.headers.etag) },
    });
    // The writer's address is on replica 1: replica 2's socket is the other replica's.
    await eventually(() => seen[1]!.some((e) => e.key === key), EVENT_BOUND_MS);
    await eventually(() => seen[0]!.some((e) => e.key === key), EVENT_BOUND_MS);
    await new Promise((r) => setTimeout(r, QUIET_MS));

    expect(acks).toEqual([{ ok: true }, { ok: true }]);
    expect([before.status, before.headers.etag, before.protocol]).toEqual([200, '"0"', version]);
    expect([write.status, write.body.value]).toEqual([200, 7]);
    expect([stale.status, stale.body.code, stale.headers.etag]).toEqual([412, 4002, write.headers.etag]);
    for (const events of seen) {
      expect(events.filter((e) => e.key === key)).toEqual([
        expect.objectContaining({
          namespace: 'bench',
          key,
          value: 7,
          etag: write.headers.etag,
          revision: write.body.revision,
          updated_by: user.id,
        }),
      ]);
    }
  });

  it('after logout the token is refused by every replica of every service and a new handshake, and only that session’s sockets are cut', async () => {
    const { user, addresses, onReplica } = await managerOnBothReplicas();
    const other = socket(
      (await loginThrough(http.open(version, addresses[1]!), user.username)).token,
      addresses[1]!,
      transport,
    );
    await other.connected();
    const revoked = onReplica.map((s) => nextEvent<{ reason: string }>(s, 'session:revoked', EVENT_BOUND_MS));
    const gone = onReplica.map((s) => nextEvent<string>(s, 'disconnect', EVENT_BOUND_MS));
    const everywhere = () => everyServiceStatuses(user.http, user.token);
    const accepted = await everywhere();
    const expectedOk = serviceCalls(user.http).map((c) => ({
      where: c.where,
      status: c.ok,
      code: undefined,
    }));
    const expectedRefused = serviceCalls(user.http).map((c) => ({ where: c.where, status: 401, code: 1002 }));

    const logout = await user.http.request('POST', '/api/v1/auth/logout', { token: user.token });
    const refused = await everywhere();
    const handshakes = await Promise.all(
      addresses.map((a) =>
        socket(user.token, a, transport)
          .connected()
          .then(
            () => 'connected',
            (err: unknown) => (err instanceof RealtimeConnectError ? err.data?.code : String(err)),
          ),
      ),
    );

    expect(accepted).toEqual(expectedOk);
    expect([logout.status, logout.protocol]).toEqual([204, version]);
    expect(refused).toEqual(expectedRefused);
    expect(handshakes).toEqual([1002, 1002]);
    expect(await Promise.all(revoked)).toEqual([
      { reason: 'session_revoked' },
      { reason: 'session_revoked' },
    ]);
    expect(await Promise.all(gone)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(other.socket.connected).toBe(true);
    expect(await other.presence()).toMatchObject({ ok: true });
  });
});

/** One authenticated call per service, through the gateway and straight at each replica. */
interface ServiceCall {
  where: string;
  ok: number;
  call(token: string): Promise<{ status: number; code?: number }>;
}

const ENDPOINTS = [
  { service: 'auth', method: 'GET', path: '/api/v1/auth/me', ok: 200 },
  { service: 'settings', method: 'GET', path: '/api/v1/settings/api', ok: 200 },
  {
    service: 'realtime',
    method: 'POST',
    path: '/api/v1/realtime/channels/flow/messages',
    ok: 202,
    body: { event: 'ping', data: null },
  },
] as const;

/** Status and problem code of each service's call with `token`, through the gateway and at each replica. */
async function everyServiceStatuses(through: GatewayHttp, token: string) {
  return Promise.all(
    serviceCalls(through).map(async (c) => {
      const { status, code } = await c.call(token);
      return { where: c.where, status, code };
    }),
  );
}

function serviceCalls(through: GatewayHttp): ServiceCall[] {
  const replicas = { auth: stack.replicas, settings: stack.settings, realtime: stack.realtime };
  return ENDPOINTS.flatMap((e) => {
    const body = 'body' in e ? e.body : undefined;
    const viaGateway: ServiceCall = {
      where: `gateway ${e.service}`,
      ok: e.ok,
      async call(token) {
        const res = await through.request<{ code?: number }>(e.method, e.path, { token, body });
        return { status: res.status, code: res.body?.code };
      },
    };
    const direct = replicas[e.service].map((r): ServiceCall => ({
      where: r.id,
      ok: e.ok,
      async call(token) {
        const res = await fetch(`${r.url}${e.path}`, {
          method: e.method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        const json = (await res.json().catch(() => ({}))) as { code?: number };
        return { status: res.status, code: json.code };
      },
    }));
    return [viaGateway, ...direct];
  });
}
