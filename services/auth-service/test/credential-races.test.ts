import { randomBytes } from 'node:crypto';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import type { ConcordClient, HttpResponse, Role, TokenResponse } from '@concord/client';
import { Pool } from 'pg';
import { startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

// Budgets far above what the races send: these tests are about the security stamp, not throttling.
const ROOMY_THROTTLE = {
  LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '1000',
  LOGIN_FAILURES_PER_ADDRESS: '1000',
  LOGIN_FAILURES_PER_ACCOUNT: '1000',
};
const NEW_PASSWORD = 'a completely different passphrase';
const LOGINS = 31;
const CHANGE_DELAY_MS = 15;

let h: AuthHarness;
let admin: ConcordClient;
let pool: Pool;

beforeAll(async () => {
  h = await startAuthHarness({ replicas: 2, env: ROOMY_THROTTLE });
  admin = await h.ceo(`admin.${randomBytes(3).toString('hex')}`);
  // Warm the second replica's connections, so the races below are not decided by a cold start.
  await h
    .client(1)
    .request('POST', '/api/v1/auth/login', { body: { username: 'warm.up', password: PASSWORD } });
  pool = new Pool({ connectionString: h.db.url });
});
afterAll(async () => {
  await pool.end();
  await h.cleanup();
});

async function newUser(role: Role) {
  const username = `race.${randomBytes(4).toString('hex')}`;
  const user = await admin.createUser(username, PASSWORD, role);
  return { ...user, username };
}

async function loggedIn(username: string, password = PASSWORD) {
  const c = h.client();
  await c.login(username, password);
  return c;
}

/** `count` logins with `password`, alternating replicas, started together. */
function loginStorm(username: string, password: string, count = LOGINS) {
  return Array.from({ length: count }, (_, i) =>
    h.client(i % 2).request<TokenResponse>('POST', '/api/v1/auth/login', { body: { username, password } }),
  );
}

/** Lets the storm reach the password check before the change starts, so logins are in flight. */
const inFlight = () => new Promise((r) => setTimeout(r, CHANGE_DELAY_MS));

/** What the sessions opened during the race can still do, after the change answered. */
async function survivors(logins: HttpResponse<TokenResponse>[]) {
  const granted = logins.filter((r) => r.status === 200).map((r) => r.body);
  const usableRoles: Role[] = [];
  const refreshedRoles: Role[] = [];
  for (const [i, grant] of granted.entries()) {
    const c = h.client(i % 2);
    const me = await c.request<{ role: Role }>('GET', '/api/v1/auth/me', { token: grant.access_token });
    if (me.status === 200) usableRoles.push(me.body.role);
    const refreshed = await c.request<TokenResponse>('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: grant.refresh_token },
    });
    if (refreshed.status === 200) {
      const after = await c.request<{ role: Role }>('GET', '/api/v1/auth/me', {
        token: refreshed.body.access_token,
      });
      refreshedRoles.push(after.body.role);
    }
  }
  return { granted: granted.length, usableRoles, refreshedRoles };
}

describe('a login in flight during a credential change (finding 3)', () => {
  it('when 31 logins with the old password race a password change, none of their sessions is usable or refreshable afterwards', async () => {
    const user = await newUser('member');
    const changer = await loggedIn(user.username);

    const storm = loginStorm(user.username, PASSWORD);
    await inFlight();
    await changer.changePassword(PASSWORD, NEW_PASSWORD);
    const result = await survivors(await Promise.all(storm));

    process.stdout.write(
      `password race: ${result.usableRoles.length} of ${result.granted} old-password sessions usable, ${result.refreshedRoles.length} refreshable\n`,
    );
    expect(result.usableRoles).toEqual([]);
    expect(result.refreshedRoles).toEqual([]);
    expect((await changer.me()).username).toBe(user.username);
  });

  it('when logins race a role change, no token usable after the change carries the old role', async () => {
    const user = await newUser('manager');

    const storm = loginStorm(user.username, PASSWORD);
    await inFlight();
    await admin.changeRole(user.id, 'member');
    const result = await survivors(await Promise.all(storm));

    const oldRole = (roles: Role[]) => roles.filter((role) => role !== 'member');
    process.stdout.write(
      `role race: ${oldRole(result.usableRoles).length} of ${result.granted} sessions usable with the old role, ${oldRole(result.refreshedRoles).length} refreshable into it\n`,
    );
    expect(oldRole(result.usableRoles)).toEqual([]);
    expect(oldRole(result.refreshedRoles)).toEqual([]);
  });

  it('when logins that rehash race a password change, the old password never comes back', async () => {
    const user = await newUser('member');
    const changer = await loggedIn(user.username);
    // A hash made with other argon2id parameters, so every login with the right password rehashes.
    const legacy = await hash(PASSWORD, {
      algorithm: Algorithm.Argon2id,
      memoryCost: 19_456,
      timeCost: 3,
      parallelism: 1,
    });
    await pool.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, legacy]);

    const storm = loginStorm(user.username, PASSWORD);
    await inFlight();
    await changer.changePassword(PASSWORD, NEW_PASSWORD);
    await Promise.all(storm);

    const { rows } = await pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [user.id],
    );
    const oldWorks = await verify(rows[0]!.password_hash, PASSWORD);
    process.stdout.write(`rehash race: the stored hash ${oldWorks ? 'is' : 'is not'} the old password's\n`);
    expect(oldWorks).toBe(false);
    expect(await verify(rows[0]!.password_hash, NEW_PASSWORD)).toBe(true);
    const oldLogin = await h.client().request('POST', '/api/v1/auth/login', {
      body: { username: user.username, password: PASSWORD },
    });
    expect(oldLogin.status).toBe(401);
  });
});
