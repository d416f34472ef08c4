import { randomBytes } from 'node:crypto';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { Pool } from 'pg';
import { offsetClock, startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

const clock = offsetClock();
let h: AuthHarness;
let pool: Pool;
let passwordHash: string;

beforeAll(async () => {
  h = await startAuthHarness({
    clock,
    env: {
      SESSION_IDLE_TIMEOUT_SECONDS: '300',
      SESSION_ABSOLUTE_LIFETIME_SECONDS: '600',
      SESSION_RETENTION_SECONDS: '60',
      SESSION_CLEANUP_INTERVAL_SECONDS: '1',
    },
  });
  passwordHash = await hash(PASSWORD, { algorithm: Algorithm.Argon2id });
  pool = new Pool({ connectionString: h.db.url });
});

/**
 * Each test's own user, written straight to Postgres: the tests move the wall clock, and an
 * authenticated admin call right after a move could meet the revocation lease catching up.
 */
async function newUser(): Promise<string> {
  const username = `life.${randomBytes(4).toString('hex')}`;
  await pool.query(`INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'member')`, [
    username,
    passwordHash,
  ]);
  return username;
}
afterAll(async () => {
  await pool.end();
  await h.cleanup();
});

async function refreshStatus(token: string) {
  return h
    .client()
    .request<{ refresh_token: string; session: { last_active_at: string } }>('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: token },
    });
}

describe('session lifetime', () => {
  it('a refresh extends the idle timeout; a session idle longer than the timeout ends', async () => {
    const c = h.client();
    const first = await c.login(await newUser(), PASSWORD);

    clock.advance(200);
    const second = await refreshStatus(first.refresh_token);
    clock.advance(200);
    const third = await refreshStatus(second.body.refresh_token);
    clock.advance(301);
    const idle = await refreshStatus(third.body.refresh_token);

    expect(second.status).toBe(200);
    expect(third.status).toBe(200);
    expect(Date.parse(third.body.session.last_active_at)).toBeGreaterThan(
      Date.parse(second.body.session.last_active_at),
    );
    expect(idle.status).toBe(401);
    expect(idle.body).toMatchObject({ code: 1000 });
  });

  it('ends a session at its absolute lifetime however active it is', async () => {
    const c = h.client();
    let token = (await c.login(await newUser(), PASSWORD)).refresh_token;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(250);
      const res = await refreshStatus(token);
      statuses.push(res.status);
      if (res.status === 200) token = res.body.refresh_token;
    }
    expect(statuses).toEqual([200, 200, 401, 401]);
  });

  it('a consumed refresh token presented after the grace window revokes the session', async () => {
    const c = h.client();
    const first = await c.login(await newUser(), PASSWORD);
    const child = await refreshStatus(first.refresh_token);

    clock.advance(11);
    const late = await refreshStatus(first.refresh_token);
    const childAfter = await refreshStatus(child.body.refresh_token);

    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ code: 1002 });
    expect(childAfter.status).toBe(401);
  });

  it('caps user_agent at 512 characters and enforces created <= last_active <= expires in Postgres', async () => {
    const res = await h
      .client()
      .request<{ session: { session_id: string; user_agent: string } }>('POST', '/api/v1/auth/login', {
        body: { username: await newUser(), password: PASSWORD },
        headers: { 'user-agent': 'x'.repeat(2000) },
      });
    const id = res.body.session.session_id;

    expect(res.body.session.user_agent).toHaveLength(512);
    await expect(
      pool.query(`UPDATE sessions SET last_active_at = created_at - interval '1 hour' WHERE id = $1`, [id]),
    ).rejects.toThrow(/sessions_activity_order/);
    await expect(
      pool.query(`UPDATE sessions SET last_active_at = expires_at + interval '1 hour' WHERE id = $1`, [id]),
    ).rejects.toThrow(/sessions_activity_order/);
  });

  it('keeps revoked rows for the retention period, then the periodic job removes them', async () => {
    const c = h.client();
    const login = await c.login(await newUser(), PASSWORD);
    await new Promise((r) => setTimeout(r, 600)); // let a heartbeat carry the moved clock
    await c.logout();
    const id = login.session.session_id;
    const count = async () =>
      Number((await pool.query('SELECT count(*) AS n FROM sessions WHERE id = $1', [id])).rows[0].n);

    await new Promise((r) => setTimeout(r, 1_500));
    const kept = await count();
    clock.advance(3_600);
    let gone = kept;
    for (let i = 0; i < 30 && gone > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      gone = await count();
    }

    expect(kept).toBe(1);
    expect(gone).toBe(0);
  });

  it('rehashes a password stored with other argon2id parameters at the next login, which keeps working', async () => {
    const username = `legacy.${randomBytes(4).toString('hex')}`;
    const old = await hash('an older strong password', {
      algorithm: Algorithm.Argon2id,
      memoryCost: 19_456,
      timeCost: 3,
      parallelism: 1,
    });
    await pool.query(`INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'member')`, [
      username,
      old,
    ]);

    await h.client().login(username, 'an older strong password');

    const { rows } = await pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE username = $1',
      [username],
    );
    const stored = rows[0]!.password_hash;
    expect(stored).not.toBe(old);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verify(stored, 'an older strong password')).toBe(true);
    await expect(h.client().login(username, 'an older strong password')).resolves.toBeDefined();
  });
});
