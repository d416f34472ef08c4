import type { ConcordClient } from '@concord/client';
import { Client } from 'pg';
import { runBounded } from './bounded';

/** A user of the benchmark with one logged-in session. */
export interface BenchUser {
  username: string;
  id: string;
  sid: string;
  token: string;
}

/** Options of {@link createBenchUsers}. */
export interface CreateUsersOptions {
  /** A client straight at an auth replica (no gateway: its per-address limit is not under test). */
  client: ConcordClient;
  /** The stack's database (the clones are written there). */
  databaseUrl: string;
  /** A ceo's access token. */
  adminToken: string;
  prefix: string;
  count: number;
  password: string;
  /** Logins in flight: each is one argon2 verification at auth-service. */
  concurrency: number;
  progress(line: string): void;
}

/**
 * `count` members, each logged in once through the API (tokens minted by auth-service, like a real
 * client's). DESIGN.md section 6 caps sockets per user, hence many users rather than one token for
 * all. One member is created through the users API; the others are SQL copies of its row (the same
 * argon2 hash, each with its own id and security stamp from the column defaults), which halves the
 * argon2 work of the set-up on a 2-core machine; decision 021.
 */
export async function createBenchUsers(o: CreateUsersOptions): Promise<BenchUser[]> {
  const template = `${o.prefix}-0`;
  const created = await o.client.request<{ id: string }>('POST', '/api/v1/users', {
    token: o.adminToken,
    body: { username: template, password: o.password, role: 'member' },
  });
  if (created.status !== 201) throw new Error(`creating ${template}: ${created.status} ${created.text}`);
  const db = new Client({ connectionString: o.databaseUrl });
  await db.connect();
  let rows: { id: string; username: string }[];
  try {
    ({ rows } = await db.query<{ id: string; username: string }>(
      `INSERT INTO users (username, password_hash, role)
       SELECT $1 || '-' || g, u.password_hash, u.role FROM users u, generate_series(1, $2::int - 1) g
       WHERE u.username = $3
       RETURNING id, username`,
      [o.prefix, o.count, template],
    ));
  } finally {
    await db.end();
  }
  const all = [{ id: created.body.id, username: template }, ...rows];
  if (all.length !== o.count) throw new Error(`cloned ${all.length} of ${o.count} users`);
  let done = 0;
  const outcome = await runBounded(all, o.concurrency, async (u): Promise<BenchUser> => {
    const login = await o.client.request<{ access_token: string; session: { session_id: string } }>(
      'POST',
      '/api/v1/auth/login',
      { body: { username: u.username, password: o.password } },
    );
    if (login.status !== 200) throw new Error(`login of ${u.username}: ${login.status} ${login.text}`);
    done += 1;
    if (done % 100 === 0) o.progress(`[users] ${done}/${o.count} logged in`);
    return { ...u, sid: login.body.session.session_id, token: login.body.access_token };
  });
  if (outcome.failed > 0)
    throw new Error(`${outcome.failed} users could not log in: ${outcome.failures.join('; ')}`);
  return outcome.done;
}

/** A fresh session of `user` (one login). */
export async function loginAgain(
  client: ConcordClient,
  user: BenchUser,
  password: string,
): Promise<BenchUser> {
  const login = await client.request<{ access_token: string; session: { session_id: string } }>(
    'POST',
    '/api/v1/auth/login',
    { body: { username: user.username, password } },
  );
  if (login.status !== 200) throw new Error(`login of ${user.username}: ${login.status} ${login.text}`);
  return { ...user, sid: login.body.session.session_id, token: login.body.access_token };
}
