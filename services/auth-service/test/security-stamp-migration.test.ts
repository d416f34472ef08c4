import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, DEFAULT_MIGRATIONS_DIR, migrate, type TestDatabase } from '@concord/db';
import { hash } from '@node-rs/argon2';
import { Pool } from 'pg';
import { hashRefreshToken, newRefreshToken } from '../src/domain/refresh-token';
import { startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

const BEFORE = '20261124000000_init';

let db: TestDatabase;
let h: AuthHarness | undefined;
let pool: Pool;
let dir: string;

beforeAll(async () => {
  // A database as it was before the security stamp: only the migrations up to BEFORE.
  dir = mkdtempSync(path.join(tmpdir(), 'concord-migrations-'));
  cpSync(path.join(DEFAULT_MIGRATIONS_DIR, BEFORE), path.join(dir, BEFORE), { recursive: true });
  cpSync(path.join(DEFAULT_MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
  db = await createTestDatabase({ migrate: true, migrationsDir: dir });
  pool = new Pool({ connectionString: db.url });
});
afterAll(async () => {
  await pool.end();
  if (h) await h.cleanup();
  else await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the credentials_hardening migration', () => {
  it('gives existing sessions their user’s stamp: they stay refreshable, and the next credential change ends them', async () => {
    const refreshToken = newRefreshToken();
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO users (username, password_hash, role) VALUES ('old.timer', $1, 'member') RETURNING id`,
      [await hash(PASSWORD)],
    );
    const userId = rows[0]!.id;
    const session = await pool.query<{ id: string }>(
      `INSERT INTO sessions (user_id, ip_address, expires_at, access_expires_at, refresh_generation)
       VALUES ($1, '127.0.0.1', now() + interval '1 day', now(), 1) RETURNING id`,
      [userId],
    );
    await pool.query(`INSERT INTO refresh_tokens (token_hash, session_id, generation) VALUES ($1, $2, 1)`, [
      hashRefreshToken(refreshToken),
      session.rows[0]!.id,
    ]);

    await migrate({ databaseUrl: db.url });
    const stamps = await pool.query<{ user_stamp: string; session_stamp: string }>(
      `SELECT u.security_stamp AS user_stamp, s.security_stamp AS session_stamp
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
      [session.rows[0]!.id],
    );
    h = await startAuthHarness({ database: db });
    const refreshed = await h.client().refresh(refreshToken);
    const other = h.client();
    await other.login('old.timer', PASSWORD);
    await other.logout('others');
    const afterChange = await h
      .client()
      .request('POST', '/api/v1/auth/refresh', { body: { refresh_token: refreshed.refresh_token } });

    expect(stamps.rows[0]!.session_stamp).toBe(stamps.rows[0]!.user_stamp);
    expect(refreshed.session.session_id).toBe(session.rows[0]!.id);
    expect(afterChange.status).toBe(401);
    expect(afterChange.body).toMatchObject({ code: 1002 });
  });
});
