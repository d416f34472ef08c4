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
