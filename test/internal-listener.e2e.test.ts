// A sibling service may reach auth-service to fetch the JWKS (JWKS_URL). In k8s it does so from the
// pod range, which TRUSTED_PROXIES trusts because the gateway lives there too. Locally the trusted
// proxy address is 127.0.0.2: a sibling calling from it is that pod. DESIGN.md section 4.
import { randomUUID } from 'node:crypto';
import { ConcordClient } from '@concord/client';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack, type Replica } from './support/e2e-stack';
import { waitFor } from './support/processes';

const TRUSTED_PROXY = '127.0.0.2';
const FORGED = '203.0.113.7';

let stack: E2eStack;

beforeAll(async () => {
  // debug: the line per request that shows the resolved client address (at info only failures,
  // slow requests and refusals are logged, DESIGN.md section 8).
  stack = await startE2eStack({ authReplicas: 1, gateway: false, env: { LOG_LEVEL: 'debug' } });
  await stack.client({ replica: 0 }).setup('internal.ceo', PASSWORD);
});
afterAll(async () => {
  await stack.cleanup();
});

/** Where siblings fetch the JWKS from: the replica's internal listener. */
function jwksListener(r: Replica): string {
  return r.internalUrl;
}

function clientOf(baseUrl: string): ConcordClient {
  return new ConcordClient({ baseUrl, localAddress: TRUSTED_PROXY });
}

/** The `client_ip` of the request log line with `requestId`, once the replica has written it. */
async function loggedClientIp(r: Replica, requestId: string): Promise<string> {
  let found: string | undefined;
  await waitFor(
    async () => {
      for (const line of r.process.output().split('\n')) {
        if (!line.includes(requestId)) continue;
        const entry = JSON.parse(line) as { request_id?: string; req?: { client_ip?: string } };
        if (entry.request_id === requestId) found = entry.req?.client_ip;
      }
      return found !== undefined;
    },
    10_000,
    () => `no log line for ${requestId}:\n${r.process.output()}`,
  );
  return found!;
}

describe('auth-service internal listener (JWKS for sibling services)', () => {
  it('answers 404 to the login API there, even from a trusted-proxy address with X-Forwarded-For', async () => {
    const c = clientOf(jwksListener(stack.replicas[0]!));

    const res = await c.request<{ session?: { ip_address: string } }>('POST', '/api/v1/auth/login', {
      body: { username: 'internal.ceo', password: PASSWORD },
      headers: { 'x-forwarded-for': FORGED },
    });
    c.close();

    expect({ status: res.status, ip: res.body.session?.ip_address }).toEqual({ status: 404, ip: undefined });
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 3000, error: 'RESOURCE_NOT_FOUND' });
  });

  it('does not trust X-Forwarded-For there, even from a trusted-proxy address', async () => {
    const r = stack.replicas[0]!;
    const c = clientOf(jwksListener(r));
    const requestId = `xff-${randomUUID()}`;

    const res = await c.request('GET', '/.well-known/jwks.json', {
      headers: { 'x-forwarded-for': FORGED, 'x-request-id': requestId },
    });
    c.close();

    expect(res.status).toBe(200);
    expect(await loggedClientIp(r, requestId)).toBe(TRUSTED_PROXY);
  });

  it('(control) the API port does trust X-Forwarded-For from the trusted-proxy address', async () => {
    const r = stack.replicas[0]!;
    const c = clientOf(r.url);
    const requestId = `xff-${randomUUID()}`;

    await c.request('GET', '/healthz', { headers: { 'x-forwarded-for': FORGED, 'x-request-id': requestId } });
    c.close();

    expect(await loggedClientIp(r, requestId)).toBe(FORGED);
  });

  it('serves the same JWKS as the API port, with the replica header the API port sends', async () => {
    const r = stack.replicas[0]!;
    const internal = clientOf(jwksListener(r));
    const api = clientOf(r.url);

    const [fromInternal, fromApi] = await Promise.all([
      internal.request<{ keys: { kid: string }[] }>('GET', '/.well-known/jwks.json'),
      api.request<{ keys: { kid: string }[] }>('GET', '/.well-known/jwks.json'),
    ]);
    internal.close();
    api.close();

    expect(fromInternal.status).toBe(200);
    expect(fromInternal.body.keys.length).toBeGreaterThan(0);
    expect(fromInternal.body).toEqual(fromApi.body);
    expect(fromInternal.headers['cache-control']).toBe(fromApi.headers['cache-control']);
    expect(fromInternal.headers['x-concord-replica']).toBe(r.id);
  });

  it('answers /healthz and /readyz', async () => {
    const c = clientOf(jwksListener(stack.replicas[0]!));

    const statuses = [
      (await c.request('GET', '/healthz')).status,
      (await c.request('GET', '/readyz')).status,
    ];
    c.close();

    expect(statuses).toEqual([200, 200]);
  });

  it.each([
    ['GET', '/api/v1/auth/me'],
    ['GET', '/api/v1/users'],
    ['GET', '/metrics'],
    ['GET', '/'],
    ['GET', '/.well-known/jwks.json/'],
    ['GET', '/HEALTHZ'],
    ['POST', '/.well-known/jwks.json'],
  ])('answers 404 problem to %s %s', async (method, path) => {
    const c = clientOf(jwksListener(stack.replicas[0]!));

    const res = await c.request(method, path, { body: method === 'POST' ? {} : undefined });
    c.close();

    expect([path, res.status, res.headers['content-type']]).toEqual([
      path,
      404,
      expect.stringMatching(/application\/problem\+json/),
    ]);
  });
});
