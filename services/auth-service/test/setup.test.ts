import { Pool } from 'pg';
import { startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

describe('concurrent setup', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuthHarness({ replicas: 2 });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('creates exactly one ceo when many setup calls race on two replicas', async () => {
    const attempts = Array.from({ length: 12 }, (_, i) =>
      h
        .client(i % 2)
        .request('POST', '/api/v1/auth/setup', { body: { username: `racer${i}`, password: PASSWORD } }),
    );

    const results = await Promise.all(attempts);

    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(11);
    const pool = new Pool({ connectionString: h.db.url });
    try {
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM users WHERE role = 'ceo'`);
      expect(rows[0]!.n).toBe('1');
    } finally {
      await pool.end();
    }
  });
});

describe('failed-login throttling', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuthHarness({
      env: {
        LOGIN_FREE_FAILURES_PER_USERNAME: '3',
        LOGIN_FREE_FAILURES_PER_IP: '8',
        LOGIN_BASE_DELAY_MS: '30000',
        LOGIN_MAX_DELAY_MS: '60000',
        REFRESH_RATE_LIMIT_PER_MINUTE: '3',
      },
    });
    await h.ceo('known.user');
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function fail(username: string, localAddress: string) {
    return h.client(0, localAddress).request('POST', '/api/v1/auth/login', {
      body: { username, password: 'definitely wrong' },
    });
  }

  it('delays a known and an unknown username identically: 401 x3, then 429 with Retry-After', async () => {
    const known = [];
    const unknown = [];
    for (let i = 0; i < 4; i++) known.push(await fail('KNOWN.user', `127.0.0.${31 + i}`));
    for (let i = 0; i < 4; i++) unknown.push(await fail('nobody.here', `127.0.0.${41 + i}`));

    for (const series of [known, unknown]) {
      expect(series.map((r) => r.status)).toEqual([401, 401, 401, 429]);
      expect(series[3]!.body).toMatchObject({ code: 5000, error: 'RATE_LIMITED' });
      expect(Number(series[3]!.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('refuses even the right password while the username is delayed (no bypass), without a permanent lockout', async () => {
    const res = await h.client(0, '127.0.0.51').request('POST', '/api/v1/auth/login', {
      body: { username: 'known.user', password: PASSWORD },
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('counts failures per client IP across usernames', async () => {
    const results = [];
    for (let i = 0; i < 9; i++) results.push(await fail(`spray${i}`, '127.0.0.61'));
    expect(results.slice(0, 8).every((r) => r.status === 401)).toBe(true);
    expect(results[8]!.status).toBe(429);
  });

  it('rate limits /refresh per client IP', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.client(0, '127.0.0.71').request('POST', '/api/v1/auth/refresh', {
        body: { refresh_token: `crt_${'B'.repeat(43)}` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
