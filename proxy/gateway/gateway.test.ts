// End-to-end tests of the nginx gateway (proxy/gateway) against bare Node fake upstreams. Every run
// uses free ports and its own run directory, so it never collides with a running local stack.
import { randomUUID, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

import { ERROR_CATALOGUE, problemType, type ErrorName } from '../../libs/common/src/errors/error-catalogue';
import { parseAddress } from '../../libs/common/src/net/trusted-proxies';
import type ipaddr from 'ipaddr.js';
import {
  clientBucketMap,
  credentialEndpointNames,
  gatewayServices,
  ensureTlsMaterial,
  GATEWAY_PROBLEMS,
  NOT_DEPLOYED_PROBLEM,
  renderNginxConfig,
  startNginx,
} from './index';
import { readServiceList } from '../service-list/service-list';
import { readConfig as readRealtimeConfig } from '../../services/realtime-service/src/config';

const CREDENTIAL_ENDPOINTS = credentialEndpointNames();

const HSTS = 'max-age=63072000; includeSubDomains';
const PROBLEM_KEYS = ['code', 'detail', 'error', 'instance', 'request_id', 'status', 'title', 'type'];

type NginxConfigOptions = Parameters<typeof renderNginxConfig>[0];
type NginxHandle = Awaited<ReturnType<typeof startNginx>>;

interface Arrival {
  method: string;
  url: string;
  marker: string | undefined;
}

interface FakeUpstream {
  address: string;
  replica: string;
  arrivals: Arrival[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Echo {
  replica: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  remoteAddress: string;
}

interface Gateway {
  nginx: NginxHandle;
  runDir: string;
  httpsPort: number;
  httpPort: number;
  options: NginxConfigOptions;
}

/** A port that was free a moment ago (listen on 0, close, reuse). */
async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A stand-in for a service replica. `echo` answers with what it received; `crash` accepts the request,
 * reads it entirely and then destroys the socket, as a replica dying mid-request would.
 */
async function startFakeUpstream(replica: string, mode: 'echo' | 'crash'): Promise<FakeUpstream> {
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const marker = req.headers['x-test-marker'];
    arrivals.push({
      method: req.method ?? '',
      url: req.url ?? '',
      marker: typeof marker === 'string' ? marker : undefined,
    });
    req.resume();
    req.on('end', () => {
      if (mode === 'crash') {
        req.socket.destroy();
        return;
      }
      const echo: Echo = {
        replica,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress ?? '',
      };
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-concord-replica': replica,
        // The gateway owns these two; the service's copies must not reach the client.
        'x-request-id': 'set-by-upstream',
        'strict-transport-security': 'max-age=1',
      });
      res.end(JSON.stringify(echo));
    });
  });
  // Mirrors the services: idle upstream connections outlive nginx's keepalive_timeout (60 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    arrivals.push({ method: 'UPGRADE', url: req.url ?? '', marker: undefined });
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `X-Seen-Connection: ${String(req.headers.connection)}\r\n\r\n`,
    );
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    replica,
    arrivals,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Resources of one describe block, released in reverse order even when setup failed half-way. */
class Resources {
  private readonly cleanups: Array<() => Promise<void>> = [];

  add(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'gateway test cleanup failed');
  }
}

let caPem = '';

async function startGateway(
  resources: Resources,
  upstreams: NginxConfigOptions['upstreams'],
  overrides: Partial<NginxConfigOptions> = {},
): Promise<Gateway> {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'concord-gateway-'));
  resources.add(() => rm(runDir, { recursive: true, force: true }));
  const material = await ensureTlsMaterial(path.join(runDir, 'tls'));
  caPem = await readFile(material.caCert, 'utf8');
  const httpsPort = await freePort();
  const httpPort = await freePort();
  const options: NginxConfigOptions = {
    runDir,
    httpsListen: { host: '127.0.0.1', port: httpsPort },
    httpListen: { host: '127.0.0.1', port: httpPort },
    tlsCert: material.cert,
    tlsKey: material.key,
    proxyBind: '127.0.0.2',
    upstreams,
    exposeReplicaHeader: true,
    credentialLimits: Object.fromEntries(
      CREDENTIAL_ENDPOINTS.map((name) => [name, { rate: '2r/s', burst: 2 }]),
    ),
    clientMaxBodySize: '16k',
    largeHeaderBuffers: '4 8k',
    ...overrides,
  };
  const nginx = await startNginx({ runDir, config: renderNginxConfig(options) });
  resources.add(() => nginx.stop());
  return { nginx, runDir, httpsPort, httpPort, options };
}

interface CallOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  localAddress?: string;
}

/** One HTTPS/1.1 request on a fresh connection (no agent), trusting only the test CA. */
function call(gw: Gateway, urlPath: string, opts: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: gw.httpsPort,
        servername: 'localhost',
        ca: caPem,
        agent: false,
        method: opts.method ?? 'GET',
        path: urlPath,
        headers: { host: 'localhost', ...opts.headers },
        localAddress: opts.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function echoOf(reply: Reply): Echo {
  expect(reply.status).toBe(200);
  return JSON.parse(reply.body) as Echo;
}

function expectProblem(reply: Reply, status: number, code: number, error: string): Record<string, unknown> {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toBe('application/problem+json');
  expect(reply.headers['strict-transport-security']).toBe(HSTS);
  const body = JSON.parse(reply.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(PROBLEM_KEYS);
  expect(body).toMatchObject({
    status,
    code,
    error,
    // The services' own implementation of the type URI, so the two catalogues are checked against each other.
    type: problemType(error as ErrorName),
    request_id: reply.headers['x-request-id'],
  });
  expect(body.request_id).toMatch(/^[0-9a-f]{32}$/);
  return body;
}

/** TLS handshake outcome with a pinned protocol version: the negotiated version or the error code. */
function handshake(gw: Gateway, version: tls.SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: gw.httpsPort,
      servername: 'localhost',
      ca: caPem,
      minVersion: version,
      maxVersion: version,
      // OpenSSL 3 refuses TLS 1.1 client-side at its default security level; lower it so a refusal can
      // only come from the server.
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'unknown');
      socket.end();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('TLS material for a gateway reached at another address', () => {
  it('when a name is asked for, reissues the server certificate under the same CA with it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-tls-'));
    try {
      const before = await ensureTlsMaterial(dir);
      const caBefore = await readFile(before.caCert, 'utf8');
      const plain = new X509Certificate(await readFile(before.cert));
      const after = await ensureTlsMaterial(dir, { names: ['10.231.0.2', 'gateway.concord.test'] });
      const cert = new X509Certificate(await readFile(after.cert));

      expect(plain.checkIP('10.231.0.2')).toBeUndefined();
      expect([cert.checkIP('10.231.0.2'), cert.checkHost('gateway.concord.test')]).toEqual([
        '10.231.0.2',
        'gateway.concord.test',
      ]);
      expect([cert.checkHost('localhost'), await readFile(after.caCert, 'utf8')]).toEqual([
        'localhost',
        caBefore,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('gateway rendering', () => {
  const base: NginxConfigOptions = {
    runDir: '/tmp/concord-render',
    httpsListen: [
      { host: '127.0.0.1', port: 8443 },
      { host: '::1', port: 8443 },
    ],
    httpListen: { host: '127.0.0.1', port: 8080 },
    tlsCert: '/tmp/concord-render/server.crt',
    tlsKey: '/tmp/concord-render/server.key',
    upstreams: { auth: ['127.0.0.1:4101'], realtime: ['127.0.0.1:4301', '127.0.0.1:4302'] },
    exposeReplicaHeader: false,
  };

  it('uses the nginx 1.22 listen syntax for HTTP/2 on every TLS listener', () => {
    const config = renderNginxConfig(base);
    expect(config).toContain('listen 127.0.0.1:8443 ssl http2;');
    expect(config).toContain('listen [::1]:8443 ssl http2;');
    expect(config).not.toMatch(/^\s*http2 on;/m);
  });

  it('activates consistent hashing before keepalive in the realtime upstream', () => {
    const config = renderNginxConfig(base);
    const block = /upstream concord_realtime \{[^}]*\}/.exec(config)?.[0] ?? '';
    expect(block.indexOf('hash $remote_addr consistent;')).toBeGreaterThan(-1);
    expect(block.indexOf('hash $remote_addr consistent;')).toBeLessThan(block.indexOf('keepalive 32;'));
  });

  it('emits upstreams only for services with replicas', () => {
    const config = renderNginxConfig(base);
    expect(config).toContain('upstream concord_auth {');
    expect(config).not.toContain('upstream concord_settings');
    expect(config).not.toContain('http://concord_settings');
  });

  it('when a value could inject directives, refuses to render', () => {
    expect(() =>
      renderNginxConfig({ ...base, upstreams: { auth: ['127.0.0.1:1; include /etc/passwd'] } }),
    ).toThrow(/invalid host:port/);
    expect(() => renderNginxConfig({ ...base, tlsCert: '/tmp/x"; user nobody;' })).toThrow(/invalid tlsCert/);
    expect(() => renderNginxConfig({ ...base, resolver: 'dns valid=1s; include /etc/passwd' })).toThrow(
      /invalid resolver/,
    );
  });

  it('with a resolver, re-resolves every upstream name while running; without one, resolves at start', () => {
    const dynamic = renderNginxConfig({ ...base, resolver: 'kube-dns.kube-system.svc.cluster.local' });
    expect(dynamic).toMatch(/^ {2}resolver kube-dns\.kube-system\.svc\.cluster\.local valid=5s ipv6=off;$/m);
    expect(dynamic).toMatch(/^ {4}server 127\.0\.0\.1:\d+ resolve max_fails/m);
    const fixed = renderNginxConfig(base);
    expect(fixed).not.toMatch(/resolver|resolve /);
  });

  it.each([...GATEWAY_PROBLEMS, NOT_DEPLOYED_PROBLEM].map((p) => [p.location, p] as const))(
    'answers %s with the code and title the shared error catalogue gives its error name',
    (_location, problem) => {
      expect(Object.keys(ERROR_CATALOGUE)).toContain(problem.error);
      const entry = ERROR_CATALOGUE[problem.error as ErrorName];

      expect({ code: problem.code, title: problem.title }).toEqual({ code: entry.code, title: entry.title });
      // 502 and 504 keep their own status (RFC 9457: `status` equals the HTTP status).
      expect(problem.status).toBe([502, 504].includes(problem.status) ? problem.from[0] : entry.status);
    },
  );

  it('keys every credential limit on the client bucket, and only for POST', () => {
    const config = renderNginxConfig(base);

    for (const name of ['login', 'refresh', 'password', 'revoke']) {
      expect(config).toContain(`limit_req_zone $concord_credential_key zone=concord_${name}:10m rate=10r/s;`);
      expect(config).toMatch(
        new RegExp(
          `location = /api/v1/auth/${name} \\{\\n\\s*limit_req zone=concord_${name} burst=20 nodelay;`,
        ),
      );
    }
    expect(config).toMatch(
      /map \$request_method \$concord_credential_key \{\n\s*POST \$concord_client_bucket;\n\s*default '';/,
    );
    expect(config).not.toContain('$binary_remote_addr');
  });

  it('routes every path of the service list to its service, and nothing else', () => {
    const config = renderNginxConfig({
      ...base,
      upstreams: { auth: ['127.0.0.1:4101'], settings: ['127.0.0.1:4201'], realtime: ['127.0.0.1:4301'] },
    });
    const routed = [
      ...config.matchAll(
        /location (= )?(\/[^ ]*) \{\n(?:(?!\n {4}\}).)*?proxy_pass http:\/\/concord_(\w+);/gs,
      ),
    ]
      .map((m) => `${m[1] ? 'exact' : 'prefix'} ${m[2]} ${m[3]}`)
      .sort();

    expect([...new Set(routed)]).toEqual(
      readServiceList()
        .flatMap((s) => [
          ...s.gateway.routes.map((r) => `${r.match} ${r.path} ${s.upstream}`),
          ...s.gateway.credentialEndpoints.map((p) => `exact ${p} ${s.upstream}`),
        ])
        .sort(),
    );
  });

  it('when a service joins the list, renders its routes, upstream and write location', () => {
    const demo = {
      upstream: 'demo',
      routes: [{ path: '/api/v1/demo/', match: 'prefix' as const }],
      credentialEndpoints: [],
      websocket: false,
      affinity: 'none' as const,
      readTimeoutSeconds: 30,
    };

    const config = renderNginxConfig({
      ...base,
      services: [...gatewayServices(), demo],
      upstreams: { demo: ['127.0.0.1:4901'] },
    });

    expect(config).toContain('upstream concord_demo {');
    expect(config).toMatch(/location \/api\/v1\/demo\/ \{[^}]*error_page 418 = @demo_write;/);
    expect(config).toContain('location @demo_write {');
    expect(config).toContain('location = /api/v1/demo {');
  });

  it('when upstreams name a service the list does not have, refuses to render', () => {
    expect(() => renderNginxConfig({ ...base, upstreams: { billing: ['127.0.0.1:4901'] } })).toThrow(
      /upstreams names "billing", which no service has/,
    );
  });

  it('holds realtime connections longer than Socket.IO’s ping interval plus its timeout', () => {
    const realtime = readServiceList().find((s) => s.name === 'realtime-service');
    const socketio = readRealtimeConfig({ JWKS_URL: 'http://127.0.0.1:4111/.well-known/jwks.json' });
    const config = renderNginxConfig(base);
    const block = /location \/socket\.io\/ \{\n(.*?)\n {4}\}/s.exec(config)?.[1] ?? '';
    const timeout = Number(/proxy_read_timeout (\d+)s;/.exec(block)?.[1]);

    expect(realtime?.gateway.websocket).toBe(true);
    expect(timeout * 1000).toBeGreaterThan(
      socketio.SOCKETIO_PING_INTERVAL_MS + socketio.SOCKETIO_PING_TIMEOUT_MS,
    );
    expect(block).toContain('proxy_set_header Connection $connection_upgrade;');
  });

  it('when a credential limit names an unknown endpoint or a bad rate, refuses to render', () => {
    expect(() =>
      renderNginxConfig({ ...base, credentialLimits: { setup: { rate: '1r/s', burst: 1 } } as never }),
    ).toThrow(/unknown endpoint "setup"/);
    expect(() =>
      renderNginxConfig({ ...base, credentialLimits: { login: { rate: '1r/s; allow all', burst: 1 } } }),
    ).toThrow(/invalid credentialLimits.login.rate/);
  });
});

describe('gateway with healthy upstreams and the replica header exposed', () => {
  const resources = new Resources();
  let gw: Gateway;
  let auth1: FakeUpstream;
  let auth2: FakeUpstream;
  let settings: FakeUpstream;
  let realtime: FakeUpstream;

  async function setup(): Promise<void> {
    auth1 = await startFakeUpstream('auth-service-1', 'echo');
    resources.add(() => auth1.close());
    auth2 = await startFakeUpstream('auth-service-2', 'echo');
    resources.add(() => auth2.close());
    settings = await startFakeUpstream('settings-service-2', 'echo');
    resources.add(() => settings.close());
    realtime = await startFakeUpstream('realtime-service-1', 'echo');
    resources.add(() => realtime.close());
    // Nothing listens on the first settings replica: the GET retry test needs a dead one.
    const deadSettings = `127.0.0.1:${await freePort()}`;
    gw = await startGateway(resources, {
      auth: [auth1.address, auth2.address],
      settings: [deadSettings, settings.address],
      realtime: [realtime.address],
    });
  }

  beforeAll(setup);
  afterAll(() => resources.cleanup());

  it('accepts TLS 1.2 and TLS 1.3 and refuses TLS 1.1', async () => {
    expect(await handshake(gw, 'TLSv1.2')).toBe('TLSv1.2');
    expect(await handshake(gw, 'TLSv1.3')).toBe('TLSv1.3');
    expect(await handshake(gw, 'TLSv1.1')).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('negotiates HTTP/2 through ALPN and sends HSTS on a proxied 200', async () => {
    const session = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: caPem });
    try {
      await once(session, 'connect');
      expect(session.alpnProtocol).toBe('h2');
      const stream = session.request({ ':path': '/api/v1/users', ':method': 'GET' });
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      stream.resume();
      await once(stream, 'end');
      expect(headers[':status']).toBe(200);
      expect(headers['strict-transport-security']).toBe(HSTS);
      expect(headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      session.close();
    }
  });

  it('redirects plain HTTP with 308 to the https port, keeping host and URI', async () => {
    const reply = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gw.httpPort,
          path: '/api/v1/users?limit=5',
          headers: { host: `localhost:${gw.httpPort}` },
          agent: false,
        },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    reply.resume();
    expect(reply.statusCode).toBe(308);
    expect(reply.headers.location).toBe(`https://localhost:${gw.httpsPort}/api/v1/users?limit=5`);
  });

  it('overwrites a forged X-Forwarded-For with the client address and connects from the proxy address', async () => {
    const reply = await call(gw, '/api/v1/auth/me', {
      localAddress: '127.0.0.23',
      headers: {
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'http',
        forwarded: 'for=203.0.113.7',
        'x-request-id': 'forged',
      },
    });
    const echo = echoOf(reply);
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.23');
    expect(echo.headers['x-forwarded-proto']).toBe('https');
    expect(echo.headers['x-forwarded-host']).toBe('localhost');
    expect(echo.headers.host).toBe('localhost');
    expect(echo.headers.forwarded).toBeUndefined();
    expect(echo.remoteAddress).toBe('127.0.0.2');
    expect(echo.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(reply.headers['x-request-id']).toBe(echo.headers['x-request-id']);
    expect(reply.headers['strict-transport-security']).toBe(HSTS);
  });

  it('routes each public prefix to its service and passes X-Concord-Replica through', async () => {
    const users = echoOf(await call(gw, '/api/v1/users/42'));
    expect(['auth-service-1', 'auth-service-2']).toContain(users.replica);
    const jwks = await call(gw, '/.well-known/jwks.json');
    expect(jwks.headers['x-concord-replica']).toBe(echoOf(jwks).replica);
    expect(echoOf(await call(gw, '/api/v1/settings/api')).replica).toBe('settings-service-2');
    expect(echoOf(await call(gw, '/api/v1/realtime/channels/x/messages')).replica).toBe('realtime-service-1');
  });

  it('hides the server version', async () => {
    const reply = await call(gw, '/api/v1/users');
    expect(reply.headers.server).toBe('nginx');
  });

  it('answers an unrouted path with a 404 problem carrying HSTS', async () => {
    for (const p of ['/nope', '/api/v1/usersX', '/api/v1/auth']) {
      const body = expectProblem(await call(gw, p), 404, 3000, 'RESOURCE_NOT_FOUND');
      expect(body.instance).toBe(p);
    }
  });

  it('does not expose /metrics', async () => {
    expectProblem(await call(gw, '/metrics'), 404, 3000, 'RESOURCE_NOT_FOUND');
    expectProblem(await call(gw, '/metrics/'), 404, 3000, 'RESOURCE_NOT_FOUND');
    expect(auth1.arrivals.concat(auth2.arrivals).some((a) => a.url.startsWith('/metrics'))).toBe(false);
  });

  /** POSTs to a credential endpoint from `localAddress` until the gateway answers 429 (bounded). */
  async function exhaust(name: string, localAddress: string): Promise<Reply> {
    for (let i = 0; i < 30; i++) {
      const reply = await call(gw, `/api/v1/auth/${name}`, {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (reply.status === 429) return reply;
      expect(echoOf(reply).url).toBe(`/api/v1/auth/${name}`);
    }
    throw new Error(`no 429 after 30 POSTs to /api/v1/auth/${name}`);
  }

  it.each(CREDENTIAL_ENDPOINTS.map((name, i) => [name, i] as const))(
    'rate limits POST /api/v1/auth/%s per client address with a 429 problem and Retry-After',
    async (name, i) => {
      const limited = await exhaust(name, `127.0.0.${31 + i}`);

      expectProblem(limited, 429, 5000, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another client address has its own budget.
      const other = await call(gw, `/api/v1/auth/${name}`, {
        method: 'POST',
        localAddress: `127.0.0.${41 + i}`,
        body: '{}',
      });
      expect(other.status).toBe(200);
    },
  );

  it('when the login budget of an address is spent, its other credential endpoints still answer', async () => {
    await exhaust('login', '127.0.0.51');

    const refresh = await call(gw, '/api/v1/auth/refresh', {
      method: 'POST',
      localAddress: '127.0.0.51',
      body: '{}',
    });

    expect(refresh.status).toBe(200);
  });

  it('does not count GET on a credential path against the address', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await call(gw, '/api/v1/auth/login', { localAddress: '127.0.0.52' })).status).toBe(200);
    }
  });

  it.each(['/api/v1/auth/login#x', '/api/v1/auth/login\\#', '/api/v1/auth\\login', '/api/v1/users/\u00e9'])(
    'when the request target contains %j (read differently by nginx and Node), answers 400 without proxying it',
    async (target) => {
      const marker = randomUUID();

      const reply = await call(gw, target, {
        method: 'POST',
        headers: { 'x-test-marker': marker },
        body: '{}',
      });

      expectProblem(reply, 400, 2001, 'REQUEST_VALIDATION_ERROR');
      expect(auth1.arrivals.concat(auth2.arrivals).filter((a) => a.marker === marker)).toEqual([]);
    },
  );

  it('answers an oversized body with a 413 problem', async () => {
    const reply = await call(gw, '/api/v1/auth/setup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(64 * 1024, 'a'),
    });
    expectProblem(reply, 413, 2002, 'PAYLOAD_TOO_LARGE');
  });

  it('answers oversized headers with a 431 problem', async () => {
    const reply = await call(gw, '/api/v1/users', { headers: { 'x-big': 'a'.repeat(10_000) } });
    expectProblem(reply, 431, 2005, 'HEADERS_TOO_LARGE');
  });

  it('answers a malformed request with a 400 problem', async () => {
    const reply = await call(gw, '/api/v1/users', { headers: { host: 'bad/host' } });
    expectProblem(reply, 400, 2001, 'REQUEST_VALIDATION_ERROR');
  });

  it('retries a GET on the second replica when the first is dead', async () => {
    const before = settings.arrivals.length;
    for (let i = 0; i < 4; i++) {
      expect(echoOf(await call(gw, `/api/v1/settings/api/key-${i}`)).replica).toBe('settings-service-2');
    }
    expect(settings.arrivals.length - before).toBe(4);
  });

  it('upgrades /socket.io/ to a WebSocket with the upgrade headers forwarded', async () => {
    const req = https.request({
      host: '127.0.0.1',
      port: gw.httpsPort,
      servername: 'localhost',
      ca: caPem,
      agent: false,
      path: '/socket.io/?EIO=4&transport=websocket',
      headers: {
        host: 'localhost',
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.end();
    const [res, socket] = (await once(req, 'upgrade')) as [http.IncomingMessage, net.Socket];
    try {
      expect(res.statusCode).toBe(101);
      expect(res.headers['x-seen-connection']).toBe('upgrade');
      socket.write('ping');
      const [data] = (await once(socket, 'data')) as [Buffer];
      expect(data.toString()).toBe('ping');
    } finally {
      socket.destroy();
    }
  });
});

describe('gateway with failing upstreams and the replica header hidden', () => {
  const resources = new Resources();
  let gw: Gateway;
  let auth: FakeUpstream;
  let crasher: FakeUpstream;
  let healthy: FakeUpstream;

  async function setup(): Promise<void> {
    auth = await startFakeUpstream('auth-service-1', 'echo');
    resources.add(() => auth.close());
    crasher = await startFakeUpstream('settings-service-1', 'crash');
    resources.add(() => crasher.close());
    healthy = await startFakeUpstream('settings-service-2', 'echo');
    resources.add(() => healthy.close());
    const deadRealtime = `127.0.0.1:${await freePort()}`;
    gw = await startGateway(
      resources,
      { auth: [auth.address], settings: [crasher.address, healthy.address], realtime: [deadRealtime] },
      // Never mark the crashing replica down, so round-robin keeps sending it every other request.
      { exposeReplicaHeader: false, upstreamMaxFails: 0 },
    );
  }

  beforeAll(setup);
  afterAll(() => resources.cleanup());

  /** Sends requests until one reaches the crashing replica (bounded), returning its marker and reply. */
  async function hitCrasher(method: string): Promise<{ marker: string; reply: Reply }> {
    for (let i = 0; i < 10; i++) {
      const marker = randomUUID();
      const reply = await call(gw, '/api/v1/settings/api/rate_limit_max_requests', {
        method,
        headers: { 'x-test-marker': marker, 'content-type': 'application/json', 'if-match': '"3"' },
        body: method === 'GET' || method === 'DELETE' ? undefined : '{"value":100}',
      });
      if (crasher.arrivals.some((a) => a.marker === marker)) return { marker, reply };
    }
    throw new Error(`no ${method} reached the crashing replica in 10 attempts`);
  }

  it('strips X-Concord-Replica when the replica header is not exposed', async () => {
    const reply = await call(gw, '/api/v1/users');
    expect(echoOf(reply).replica).toBe('auth-service-1');
    expect(reply.headers['x-concord-replica']).toBeUndefined();
    expect(reply.headers['x-request-id']).not.toBe('set-by-upstream');
    expect(reply.headers['strict-transport-security']).toBe(HSTS);
  });

  it('answers a dead upstream with a 502 problem, code 8001, Retry-After and HSTS', async () => {
    const reply = await call(gw, '/api/v1/realtime/users/1/messages');
    expectProblem(reply, 502, 8001, 'SERVICE_UNAVAILABLE');
    expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('answers a write to a dead upstream with the same problem', async () => {
    const reply = await call(gw, '/api/v1/realtime/channels/x/messages', { method: 'POST', body: '{}' });
    expectProblem(reply, 502, 8001, 'SERVICE_UNAVAILABLE');
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])(
    'never replays a %s that failed mid-request on another replica',
    async (method) => {
      const { marker, reply } = await hitCrasher(method);
      expectProblem(reply, 502, 8001, 'SERVICE_UNAVAILABLE');
      expect(healthy.arrivals.filter((a) => a.marker === marker)).toEqual([]);
      expect(crasher.arrivals.filter((a) => a.marker === marker)).toHaveLength(1);
    },
  );

  it('retries a GET that failed mid-request on the other replica', async () => {
    const { marker, reply } = await hitCrasher('GET');
    expect(echoOf(reply).replica).toBe('settings-service-2');
    expect(healthy.arrivals.filter((a) => a.marker === marker)).toHaveLength(1);
  });

  it('after a reload without settings replicas, answers their routes with a 503 problem', async () => {
    const config = renderNginxConfig({ ...gw.options, upstreams: { auth: [auth.address] } });
    await gw.nginx.reload(config);
    const reply = await call(gw, '/api/v1/settings/api');
    const body = expectProblem(reply, 503, 8001, 'SERVICE_UNAVAILABLE');
    expect(body.detail).toMatch(/not deployed/);
    expect(reply.headers['retry-after']).toBeDefined();
  });
});

describe('client buckets of the per-address limits, in real nginx', () => {
  const resources = new Resources();
  let port: number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  beforeAll(async () => {
    const runDir = await mkdtemp(path.join(os.tmpdir(), 'concord-buckets-'));
    resources.add(() => rm(runDir, { recursive: true, force: true }));
    port = await freePort();
    const config = [
      `pid ${runDir}/nginx.pid;`,
      `error_log ${runDir}/error.log warn;`,
      'events {}',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (t) => `  ${t}_temp_path ${runDir}/${t}_temp;`,
      ),
      // The gateway's own map, unchanged, over $remote_addr.
      ...clientBucketMap('$remote_addr', '$concord_client_bucket').map((line) => `  ${line}`),
      '  server {',
      `    listen 127.0.0.1:${port};`,
      // realip parses the test header into the connection's address and nginx prints it back with
      // ngx_inet6_ntop, so the map sees exactly the text nginx would print for such a client.
      '    set_real_ip_from 127.0.0.1;',
      '    real_ip_header X-Test-Address;',
      '    location / {',
      '      default_type text/plain;',
      '      return 200 "$remote_addr $concord_client_bucket";',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n');
    const nginx = await startNginx({ runDir, config, waitFor: [{ host: '127.0.0.1', port }] });
    resources.add(() => nginx.stop());
  });
  afterAll(async () => {
    agent.destroy();
    await resources.cleanup();
  });

  /** nginx's `$remote_addr` and bucket for a client at `address`. */
  function bucketOf(address: string): Promise<{ printed: string; bucket: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: '/', agent, headers: { 'x-test-address': address } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const [printed = '', bucket = ''] = text.split(' ');
            resolve({ printed, bucket });
          });
        },
      );
      req.on('error', reject);
    });
  }

  /**
   * The expectation, computed apart from nginx with the services' parser (which reads IPv4-mapped
   * addresses as IPv4): an IPv4 address, or the first four groups of an IPv6 one.
   */
  function expectedBucket(address: string): string {
    const parsed = parseAddress(address);
    if (!parsed) throw new Error(`test address ${address} does not parse`);
    if (parsed.kind() === 'ipv4') return parsed.toString();
    const v6 = parsed as ipaddr.IPv6;
    return `${v6.parts
      .slice(0, 4)
      .map((p) => p.toString(16))
      .join(':')}::/64`;
  }

  // Every pattern of zero and non-zero groups, so `::` lands in every position nginx can print it.
  // Non-zero groups vary in width (`ab`, `1000`, `ffff`) and are sent zero-padded, which nginx drops.
  const widths = [0xab, 0x1000, 0xffff, 0x7, 0x20, 0xfe80, 0x1, 0xdb8];
  const ipv6 = Array.from({ length: 256 }, (_, mask) =>
    Array.from({ length: 8 }, (_, i) => ((mask >> i) & 1 ? widths[i]! : 0))
      .map((g) => g.toString(16).padStart(4, '0'))
      .join(':'),
  );
  const special = [
    '::ffff:203.0.113.9',
    '::ffff:0.0.0.0',
    '::203.0.113.9',
    '::102:304',
    '::2',
    '::1',
    '::',
    '2001:db8::1',
    '2001:db8:0:1::1',
    '2001:db8:1:2:3::',
    '0:0:0:1::',
    '0:1::1',
  ];

  // (Not 255.255.255.255: realip cannot take it, ngx_inet_addr reads it as INADDR_NONE.)
  it.each(['203.0.113.9', '127.0.0.1', '0.0.0.0', '198.51.100.255', '10.0.0.10'])(
    'keeps the IPv4 client %s as its own bucket',
    async (address) => {
      expect((await bucketOf(address)).bucket).toBe(address);
    },
  );

  it('puts every IPv6 client in its /64, wherever nginx compresses the zeros', async () => {
    const wrong: Array<{ address: string; printed: string; bucket: string; expected: string }> = [];
    for (const address of [...ipv6, ...special]) {
      const { printed, bucket } = await bucketOf(address);
      const expected = expectedBucket(address);
      if (bucket !== expected) wrong.push({ address, printed, bucket, expected });
    }

    expect(wrong).toEqual([]);
  });

  it('gives two addresses of one /64 the same bucket and the neighbouring /64 another', async () => {
    const a = await bucketOf('2001:db8:1:2::a');
    const b = await bucketOf('2001:db8:1:2:ffff:ffff:ffff:ffff');
    const c = await bucketOf('2001:db8:1:3::a');

    expect(a.bucket).toBe(b.bucket);
    expect(c.bucket).not.toBe(a.bucket);
  });
});
