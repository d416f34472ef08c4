import path from 'node:path';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConcordClient, type RealtimeClient } from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import type { E2eStack, Replica } from '../support/e2e-stack';
import { gatewayClients, newUser, setupCeo, startFullStack } from '../support/full-stack';
import type { GatewayHttp, HttpVersion } from '../support/gateway-http';
import { gatewaySocket, type SocketTransport } from '../support/gateway-realtime';
import { freePort } from '../support/processes';
import { eventually } from '../support/stored-setting';

// The gateway as the edge (DESIGN.md sections 2 and 7): forged client addresses never reach a
// service, oversized bodies are refused, only TLS 1.2/1.3 are spoken, HSTS is on every answer.

/** Generous bound for a service's log line to be written. */
const LOG_BOUND_MS = Number(process.env.TEST_E2E_LOG_BOUND_MS ?? 5_000);
/** Documentation addresses (RFC 5737): never a real client, so any sighting is the forgery. */
const FORGED = '203.0.113.77';

// settings and realtime log every request and handshake with the client address they resolved
// (`debug`): their view of the client IP, which the tests read back.
const DEBUG = { LOG_LEVEL: 'debug' };

let stack: E2eStack;
let ceo: GatewayHttp & { token: string };
const fileClients = gatewayClients(() => stack);
const http = gatewayClients(() => stack);
const sockets: RealtimeClient[] = [];

beforeAll(async () => {
  stack = await startFullStack({ settingsEnv: [DEBUG, DEBUG], realtimeEnv: [DEBUG, DEBUG] });
  ceo = await setupCeo(fileClients, 'edge.ceo', '127.0.0.240');
}, 120_000);
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await http.closeAll();
});
afterAll(async () => {
  await fileClients.closeAll();
  await stack?.cleanup();
});

/** The JSON log lines of `replicas` (their kept output, whose first line may be cut). */
function logLines(replicas: Replica[]): Record<string, unknown>[] {
  return replicas.flatMap((r) =>
    r.process
      .output()
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  );
}

/** The client address a service logged for the request with `requestId` (its `req.client_ip`). */
async function loggedClientIp(replicas: Replica[], requestId: string): Promise<string> {
  let line: { req?: { client_ip?: string } } | undefined;
  await eventually(() => {
    line = logLines(replicas).find((l) => l.request_id === requestId);
    return line !== undefined;
  }, LOG_BOUND_MS);
  return String(line?.req?.client_ip);
}

const forgedHeaders = (chain: string) => ({
  'x-forwarded-for': chain,
  'x-real-ip': FORGED,
  forwarded: `for=${FORGED}`,
});

/**
 * Forged chains: a plain address, and one ending in the proxy's own trusted address (were nginx to
 * append rather than overwrite, a right-to-left walk would skip 127.0.0.2 and take the forgery).
 */
const CHAINS = [FORGED, `${FORGED}, 127.0.0.2`];

describe.each<[HttpVersion, string]>([
  ['h2', '127.0.0.241'],
  ['http/1.1', '127.0.0.242'],
])('a forged X-Forwarded-For over %s', (version, address) => {
  it.each(CHAINS)('never reaches auth-service: the session records the real address (%s)', async (chain) => {
    const client = http.open(version, address);
    const user = await newUser(ceo, 'member', client);

    const login = await client.request<{ session: { ip_address: string } }>('POST', '/api/v1/auth/login', {
      body: { username: user.username, password: PASSWORD },
      headers: forgedHeaders(chain),
    });
    const sessions = await client.request<{ items: { ip_address: string }[] }>(
      'GET',
      '/api/v1/auth/sessions',
      {
        token: user.token,
        headers: forgedHeaders(chain),
      },
    );

    expect([login.status, login.body.session.ip_address]).toEqual([200, address]);
    expect(new Set(sessions.body.items.map((s) => s.ip_address))).toEqual(new Set([address]));
  });

  it.each(CHAINS)(
    'never reaches settings-service nor realtime-service HTTP: both log the real address (%s)',
    async (chain) => {
      const client = http.open(version, address);
      const user = await newUser(ceo, 'manager', client);

      const read = await client.request('GET', '/api/v1/settings/api', {
        token: user.token,
        headers: forgedHeaders(chain),
      });
      const publish = await client.request('POST', '/api/v1/realtime/channels/edge/messages', {
        token: user.token,
        body: { event: 'e', data: null },
        headers: forgedHeaders(chain),
      });

      expect([read.status, publish.status]).toEqual([200, 202]);
      expect(await loggedClientIp(stack.settings, String(read.headers['x-request-id']))).toBe(address);
      expect(await loggedClientIp(stack.realtime, String(publish.headers['x-request-id']))).toBe(address);
      expect(JSON.stringify(logLines([...stack.settings, ...stack.realtime]))).not.toContain(FORGED);
    },
  );
});

describe.each<[SocketTransport, string]>([
  ['websocket', '127.0.0.243'],
  ['polling', '127.0.0.244'],
])('a forged X-Forwarded-For on a Socket.IO handshake over %s', (transport, address) => {
  /** The address realtime logged for `userId`'s socket. */
  async function socketClientIp(userId: string): Promise<string> {
    let line: Record<string, unknown> | undefined;
    await eventually(() => {
      line = logLines(stack.realtime).find((l) => l.msg === 'socket connected' && l.user_id === userId);
      return line !== undefined;
    }, LOG_BOUND_MS);
    return String(line?.client_ip);
  }

  it.each(CHAINS)('through the gateway: realtime sees the real client address (%s)', async (chain) => {
    const user = await newUser(ceo, 'member', http.open('h2', address));
    const s = gatewaySocket(stack, user.token, {
      localAddress: address,
      transport,
      extraHeaders: forgedHeaders(chain),
    });
    sockets.push(s);

    await s.connected();

    expect(await socketClientIp(user.id)).toBe(address);
    expect(JSON.stringify(logLines(stack.realtime))).not.toContain(FORGED);
  });

  it('straight at a replica from an untrusted peer: the header is ignored', async () => {
    const user = await newUser(ceo, 'member', http.open('h2', address));
    const s = gatewaySocket(stack, user.token, {
      url: stack.realtime[0]!.url,
      localAddress: address,
      transport,
      extraHeaders: forgedHeaders(FORGED),
    });
    sockets.push(s);

    await s.connected();

    expect(await socketClientIp(user.id)).toBe(address);
    expect(JSON.stringify(logLines(stack.realtime))).not.toContain(FORGED);
  });
});

/** Over nginx's `client_max_body_size` (1 MiB by default). */
const OVER_GATEWAY_LIMIT = Buffer.alloc(1_100_000, 'a');

describe.each<HttpVersion>(['h2', 'http/1.1'])('oversized bodies over %s', (version) => {
  it.each([
    ['auth', 'POST', '/api/v1/auth/login'],
    ['settings', 'PUT', '/api/v1/settings/bench/edge_big'],
    ['realtime', 'POST', '/api/v1/realtime/channels/edge/messages'],
  ])(
    'nginx answers a body over its limit to %s with a 413 problem (2002) and HSTS',
    async (_service, method, target) => {
      const client = http.open(version, '127.0.0.245');

      const res = await client.request<{ code: number; status: number }>(method, target, {
        token: ceo.token,
        rawBody: `{"value":"${OVER_GATEWAY_LIMIT.toString()}"}`,
        headers: { 'content-type': 'application/json' },
      });

      expect([res.status, res.body.status, res.body.code]).toEqual([413, 413, 2002]);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    },
  );

  it('a body under the gateway limit but over realtime-service’s own is its 413 problem (2002)', async () => {
    const client = http.open(version, '127.0.0.246');

    const res = await client.request<{ code: number }>('POST', '/api/v1/realtime/channels/edge/messages', {
      token: ceo.token,
      body: { event: 'big', data: 'b'.repeat(40_000) },
    });

    expect([res.status, res.body.code]).toEqual([413, 2002]);
    expect(String(res.headers['x-concord-replica'])).toMatch(/^realtime-service-[12]$/);
  });
});

/** The outcome of a TLS handshake offering exactly `version`: the protocol spoken, or the error code. */
function handshake(port: number, version: tls.SecureVersion, ca: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      minVersion: version,
      maxVersion: version,
      // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level: level 0 lets this client offer them.
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve(String(socket.getProtocol()));
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

describe('TLS versions at the gateway', () => {
  const OLD: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1'];
  const gatewayPort = () => Number(new URL(stack.gatewayUrl).port);

  it('positive control: this client speaks TLS 1.0 and 1.1 to a private server that allows them', async () => {
    const dir = path.dirname(stack.caFile);
    const server = tls.createServer({
      cert: readFileSync(path.join(dir, 'server.crt')),
      key: readFileSync(path.join(dir, 'server.key')),
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    server.on('secureConnection', (s) => s.end());
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const spoken = [];
      for (const v of OLD) spoken.push(await handshake(port, v, stack.caCert));

      expect(spoken).toEqual(['TLSv1', 'TLSv1.1']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses TLS 1.0 and 1.1 with a protocol-version alert', async () => {
    const outcomes = [];
    for (const v of OLD) outcomes.push(await handshake(gatewayPort(), v, stack.caCert));

    // The server's alert (RFC 8446 protocol_version), not a failure of this client to offer them.
    expect(outcomes).toEqual([
      'refused: ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      'refused: ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    ]);
  });

  it('speaks TLS 1.2 and 1.3', async () => {
    const spoken = [];
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const)
      spoken.push(await handshake(gatewayPort(), v, stack.caCert));

    expect(spoken).toEqual(['TLSv1.2', 'TLSv1.3']);
  });
});

describe.each<HttpVersion>(['h2', 'http/1.1'])('HSTS over %s', (version) => {
  it.each([
    ['auth (401)', 'GET', '/api/v1/auth/me', 'auth-service'],
    ['auth JWKS (200)', 'GET', '/.well-known/jwks.json', 'auth-service'],
    ['settings (401)', 'GET', '/api/v1/settings/api', 'settings-service'],
    ['realtime HTTP (401)', 'POST', '/api/v1/realtime/channels/edge/messages', 'realtime-service'],
    [
      'the Socket.IO polling handshake (200)',
      'GET',
      '/socket.io/?EIO=4&transport=polling',
      'realtime-service',
    ],
    ["nginx's own 404", 'GET', '/nowhere', undefined],
  ])(
    'on %s: exactly one header, at least a year, subdomains included',
    async (_what, method, target, service) => {
      const res = await http.open(version, '127.0.0.247').request(method, target);
      const hsts = String(res.headers['strict-transport-security']);
      const maxAge = Number(/^max-age=(\d+); includeSubDomains$/.exec(hsts)?.[1]);

      expect(maxAge).toBeGreaterThanOrEqual(365 * 24 * 3600);
      expect(res.protocol).toBe(version);
      if (service) expect(String(res.headers['x-concord-replica'])).toMatch(new RegExp(`^${service}-[12]$`));
    },
  );
});

describe('control of the log-based checks above', () => {
  it('a request straight from the trusted proxy address (127.0.0.2) with X-Forwarded-For is believed, and logged so', async () => {
    const believed = '198.51.100.7';
    const user = await newUser(ceo, 'member', http.open('h2', '127.0.0.248'));
    const replica = stack.settings[0]!;
    const client = new ConcordClient({ baseUrl: replica.url, localAddress: '127.0.0.2' });

    const res = await client.request('GET', '/api/v1/settings/api', {
      token: user.token,
      headers: { 'x-forwarded-for': believed },
    });
    client.close();

    expect(res.status).toBe(200);
    expect(await loggedClientIp([replica], String(res.headers['x-request-id']))).toBe(believed);
  });
});
