import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from './support/e2e-stack';

let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack({ authReplicas: 2 });
  await stack.client().setup('ip.ceo', PASSWORD);
});
afterAll(async () => {
  await stack.cleanup();
});

async function loginFrom(options: { replica?: number; localAddress: string }, forged?: string) {
  const c = stack.client(options);
  const res = await c.request<{ session: { ip_address: string } }>('POST', '/api/v1/auth/login', {
    body: { username: 'ip.ceo', password: PASSWORD },
    headers: forged
      ? { 'x-forwarded-for': forged, 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example' }
      : {},
  });
  expect(res.status).toBe(200);
  return res;
}

describe('client IP through the gateway and directly', () => {
  it('records the real client 127.0.0.23 behind nginx, not the forged X-Forwarded-For nor nginx itself', async () => {
    const res = await loginFrom({ localAddress: '127.0.0.23' }, '203.0.113.7');
    expect(res.body.session.ip_address).toBe('127.0.0.23');
  });

  it('records 127.0.0.23 when the same request goes straight to a replica (untrusted peer, header ignored)', async () => {
    const res = await loginFrom({ replica: 0, localAddress: '127.0.0.23' }, '203.0.113.7');
    expect(res.body.session.ip_address).toBe('127.0.0.23');
  });

  it('sets HSTS on answers that pass through the gateway', async () => {
    const res = await stack.client({ localAddress: '127.0.0.90' }).request('GET', '/.well-known/jwks.json');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['x-concord-replica']).toMatch(/^auth-service-[12]$/);
  });

  it('load-balances requests over both replicas', async () => {
    const seen = new Set<string>();
    const c = stack.client({ localAddress: '127.0.0.91' });
    for (let i = 0; i < 20; i++) {
      const res = await c.request('GET', '/.well-known/jwks.json');
      seen.add(String(res.headers['x-concord-replica']));
    }
    expect(seen).toEqual(new Set(['auth-service-1', 'auth-service-2']));
  });
});
