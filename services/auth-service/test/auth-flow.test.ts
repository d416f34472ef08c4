import { randomBytes } from 'node:crypto';
import type { ConcordClient, Role } from '@concord/client';
import { startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

let h: AuthHarness;
/** Creates each test's own users; no test acts as it or depends on another test's data. */
let admin: ConcordClient;

beforeAll(async () => {
  h = await startAuthHarness();
  admin = await h.ceo('flow.admin');
});
afterAll(async () => {
  await h.cleanup();
});

/** A fresh user of `role` (unique name) for the calling test. */
async function newUser(role: Role = 'member', prefix = 'flow') {
  const username = `${prefix}.${randomBytes(4).toString('hex')}`;
  const user = await admin.createUser(username, PASSWORD, role);
  return { id: user.id, username };
}

async function loginAs(username: string, password = PASSWORD) {
  const c = h.client();
  await c.login(username, password);
  return c;
}

/** A logged-in client of a fresh user. */
async function freshSession(role: Role = 'member') {
  const user = await newUser(role);
  return { user, client: await loginAs(user.username) };
}

describe('setup', () => {
  // Setup works once per database: this test owns one.
  let fresh: AuthHarness;
  beforeAll(async () => {
    fresh = await startAuthHarness();
  });
  afterAll(async () => {
    await fresh.cleanup();
  });

  it('creates the first ceo once, then answers 409 code 4000', async () => {
    const c = fresh.client();
    const created = await c.setup('First.CEO', PASSWORD);
    expect(created).toMatchObject({ username: 'first.ceo', role: 'ceo' });

    const again = await c.request('POST', '/api/v1/auth/setup', {
      body: { username: 'another', password: PASSWORD },
    });

    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(again.body).toMatchObject({ code: 4000, error: 'RESOURCE_CONFLICT', status: 409 });
  });
});

describe('login', () => {
  it('answers tokens and the session item; the username is case-insensitive', async () => {
    const user = await newUser('manager', 'case');
    const c = h.client(0, '127.0.0.23');

    const tokens = await c.login(user.username.toUpperCase(), PASSWORD);

    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(tokens.refresh_token).toMatch(/^crt_/);
    expect(tokens.session).toMatchObject({
      username: user.username,
      is_current: true,
      ip_address: '127.0.0.23',
    });
    const me = await c.me();
    expect(me).toMatchObject({
      username: user.username,
      role: 'manager',
      session_id: tokens.session.session_id,
    });
  });

  it('answers the same 401 code 1003 for a wrong password and for an unknown user', async () => {
    const user = await newUser();
    const c = h.client();
    const wrong = await c.request('POST', '/api/v1/auth/login', {
      body: { username: user.username, password: 'nope-nope-nope' },
    });
    const unknown = await c.request('POST', '/api/v1/auth/login', {
      body: { username: 'ghost', password: 'nope-nope-nope' },
    });

    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        code: 1003,
        error: 'INVALID_CREDENTIALS',
        detail: 'Invalid username or password',
      });
    }
  });

  it('answers 422 with field errors for a missing password and 400 for broken JSON, 415 for non-JSON', async () => {
    const c = h.client();
    const missing = await c.request('POST', '/api/v1/auth/login', { body: { username: 'x' } });
    const broken = await c.request('POST', '/api/v1/auth/login', {
      rawBody: '{"username":',
      headers: { 'content-type': 'application/json' },
    });
    const text = await c.request('POST', '/api/v1/auth/login', {
      rawBody: 'hello',
      headers: { 'content-type': 'text/plain' },
    });

    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ code: 2000, errors: [{ path: 'password' }] });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 2001 });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 2004 });
  });

  it('answers 405 with Allow for a wrong method and 404 problem for an unknown path', async () => {
    const c = h.client();
    const wrong = await c.request('GET', '/api/v1/auth/login');
    const unknown = await c.request('GET', '/api/v1/auth/nothing-here');

    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect(wrong.body).toMatchObject({ code: 2003 });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 3000, instance: '/api/v1/auth/nothing-here' });
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await h.client().request('POST', '/api/v1/auth/login', {
      body: { username: 'x', password: 'y'.repeat(40_000) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 2002 });
  });
});

describe('refresh', () => {
  it('rotates the refresh token and extends last_active_at', async () => {
    const user = await newUser();
    const c = h.client();
    const first = await c.login(user.username, PASSWORD);

    const second = await c.refresh(first.refresh_token);

    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.session.session_id).toBe(first.session.session_id);
    expect(Date.parse(second.session.last_active_at)).toBeGreaterThanOrEqual(
      Date.parse(first.session.last_active_at),
    );
    expect(second.access_token).not.toBe(first.access_token);
  });

  it('gives a duplicate presented within the grace window the same child', async () => {
    const user = await newUser();
    const c = h.client();
    const first = await c.login(user.username, PASSWORD);

    const [a, b] = await Promise.all([
      c.refresh(first.refresh_token),
      h.client().refresh(first.refresh_token),
    ]);

    expect(a.refresh_token).toBe(b.refresh_token);
    expect(a.session.session_id).toBe(b.session.session_id);
  });

  it('revokes the session when a consumed token is reused after its child was used', async () => {
    const user = await newUser();
    const c = h.client();
    const first = await c.login(user.username, PASSWORD);
    const second = await c.refresh(first.refresh_token);
    await c.refresh(second.refresh_token);

    const reuse = await c.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: first.refresh_token },
    });

    expect(reuse.status).toBe(401);
    expect(reuse.body).toMatchObject({ code: 1002 });
    const after = await c.request('GET', '/api/v1/auth/me', { token: c.accessToken });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 1002 });
  });

  it('answers 401 code 1000 for an unknown refresh token', async () => {
    const res = await h
      .client()
      .request('POST', '/api/v1/auth/refresh', { body: { refresh_token: `crt_${'A'.repeat(43)}` } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 1000 });
  });
});

describe('logout and sessions', () => {
  it('logout local revokes only this session', async () => {
    const user = await newUser();
    const a = await loginAs(user.username);
    const b = await loginAs(user.username);

    await a.logout();

    expect((await a.request('GET', '/api/v1/auth/me', { token: a.accessToken })).status).toBe(401);
    expect((await b.me()).username).toBe(user.username);
  });

  it('logout others keeps this session, still refreshable, and revokes the rest', async () => {
    const user = await newUser();
    const a = await loginAs(user.username);
    const b = await loginAs(user.username);

    await a.logout('others');

    expect((await a.me()).username).toBe(user.username);
    await expect(a.refresh()).resolves.toMatchObject({ session: { username: user.username } });
    expect((await b.request('GET', '/api/v1/auth/me', { token: b.accessToken })).body).toMatchObject({
      code: 1002,
    });
  });

  it('logout global revokes every session of the caller, this one included', async () => {
    const user = await newUser();
    const a = await loginAs(user.username);
    const b = await loginAs(user.username);

    await a.logout('global');

    expect((await a.request('GET', '/api/v1/auth/me', { token: a.accessToken })).body).toMatchObject({
      code: 1002,
    });
    expect((await b.request('GET', '/api/v1/auth/me', { token: b.accessToken })).body).toMatchObject({
      code: 1002,
    });
  });

  it('answers 422 for an unknown logout scope', async () => {
    const { client } = await freshSession();

    const bad = await client.request('POST', '/api/v1/auth/logout?scope=everywhere', {
      token: client.accessToken,
    });

    expect(bad.status).toBe(422);
  });

  it('a refresh after logout answers 401 code 1002 (the session is revoked)', async () => {
    const { client: c } = await freshSession();
    const refreshToken = c.refreshToken!;
    await c.logout();

    const res = await c.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: refreshToken } });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 1002 });
  });

  it('lists own sessions with is_current, pages with a cursor, and rejects a bad scope with 422', async () => {
    const user = await newUser();
    const c = await loginAs(user.username);
    await loginAs(user.username);

    const page1 = await c.sessions('own', 'limit=1');
    const page2 = await c.sessions('own', `limit=1&cursor=${page1.next_cursor}`);
    const bad = await c.request('GET', '/api/v1/auth/sessions?scope=everyone', { token: c.accessToken });

    expect(page1.items).toHaveLength(1);
    expect(page1.next_cursor).toEqual(expect.any(String));
    expect(page2.items[0]!.session_id).not.toBe(page1.items[0]!.session_id);
    expect(bad.status).toBe(422);
    const all = await c.sessions('own', 'limit=100');
    expect(all.items).toHaveLength(2);
    expect(all.items.filter((s) => s.is_current)).toHaveLength(1);
  });

  it("answers 404 when deleting another user's session, and scope=all is ceo-only", async () => {
    const ceo = (await freshSession('ceo')).client;
    const memberOne = await newUser();
    const one = await loginAs(memberOne.username);
    const two = await loginAs((await newUser()).username);
    const twoSession = (await two.me()).session_id;

    const foreign = await one.request('DELETE', `/api/v1/auth/sessions/${twoSession}`, {
      token: one.accessToken,
    });
    const missing = await one.request(
      'DELETE',
      '/api/v1/auth/sessions/00000000-0000-4000-8000-000000000000',
      {
        token: one.accessToken,
      },
    );
    const all = await one.request('GET', '/api/v1/auth/sessions?scope=all', { token: one.accessToken });

    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 3000 });
    expect(missing.status).toBe(404);
    expect(all.status).toBe(403);
    expect(all.body).toMatchObject({ code: 1001 });
    expect((await two.me()).session_id).toBe(twoSession);

    await ceo.revokeSession(twoSession);
    expect((await two.request('GET', '/api/v1/auth/me', { token: two.accessToken })).status).toBe(401);
    const everyone = await ceo.sessions('all', 'limit=100');
    expect(everyone.items.some((s) => s.username === memberOne.username)).toBe(true);
  });

  it('answers 204 when deleting an own session that is already revoked (a retry after a committed 503)', async () => {
    const user = await newUser();
    const caller = await loginAs(user.username);
    const other = await loginAs(user.username);
    const otherSession = (await other.me()).session_id;
    await caller.revokeSession(otherSession);

    const again = await caller.request('DELETE', `/api/v1/auth/sessions/${otherSession}`, {
      token: caller.accessToken,
    });

    expect(again.status).toBe(204);
    expect((await other.request('GET', '/api/v1/auth/me', { token: other.accessToken })).body).toMatchObject({
      code: 1002,
    });
  });

  it('DELETE /sessions?scope=others counts what it revoked; a missing scope is 422', async () => {
    const user = await newUser();
    const a = await loginAs(user.username);
    await loginAs(user.username);
    await loginAs(user.username);

    const result = await a.revokeSessions('others');
    const missing = await a.request('DELETE', '/api/v1/auth/sessions', { token: a.accessToken });

    expect(result.revoked).toBe(2);
    expect(missing.status).toBe(422);
    expect((await a.sessions()).items).toHaveLength(1);
  });

  it('RFC 7009 revoke: 200 for an unknown token, and revoking a refresh token kills the session', async () => {
    const { client: c } = await freshSession();
    const anon = h.client();

    const unknown = await anon.request('POST', '/api/v1/auth/revoke', { body: { token: 'nonsense' } });
    const form = await anon.request('POST', '/api/v1/auth/revoke', {
      rawBody: `token=${encodeURIComponent(c.refreshToken!)}&token_type_hint=refresh_token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

    expect(unknown.status).toBe(200);
    expect(form.status).toBe(200);
    expect((await c.request('GET', '/api/v1/auth/me', { token: c.accessToken })).body).toMatchObject({
      code: 1002,
    });
  });

  it('revoking an access token revokes its session', async () => {
    const { client: c } = await freshSession();
    await h.client().revokeToken(c.accessToken!, 'access_token');
    expect((await c.request('GET', '/api/v1/auth/me', { token: c.accessToken })).status).toBe(401);
  });
});

describe('password change', () => {
  it('revokes other sessions, keeps this one (still refreshable), and the new password works', async () => {
    const user = await newUser();
    const a = await loginAs(user.username);
    const b = await loginAs(user.username);

    const wrong = await a.request('POST', '/api/v1/auth/password', {
      token: a.accessToken,
      body: { current_password: 'wrong-password!', new_password: 'a brand new password' },
    });
    const short = await a.request('POST', '/api/v1/auth/password', {
      token: a.accessToken,
      body: { current_password: PASSWORD, new_password: 'short' },
    });
    await a.changePassword(PASSWORD, 'a brand new password');

    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 1003 });
    expect(short.status).toBe(422);
    expect((await a.me()).username).toBe(user.username);
    await expect(a.refresh()).resolves.toMatchObject({ session: { username: user.username } });
    expect((await b.request('GET', '/api/v1/auth/me', { token: b.accessToken })).body).toMatchObject({
      code: 1002,
    });
    await expect(loginAs(user.username, 'a brand new password')).resolves.toBeDefined();
  });
});

describe('users', () => {
  it('ceo creates users (409 code 4001 on duplicates), managers list, members may not', async () => {
    const ceo = (await freshSession('ceo')).client;
    const tag = randomBytes(3).toString('hex');
    await ceo.createUser(`boss.${tag}`, PASSWORD, 'manager');
    const dup = await ceo.request('POST', '/api/v1/users', {
      token: ceo.accessToken,
      body: { username: `BOSS.${tag}`, password: PASSWORD, role: 'member' },
    });
    const badRole = await ceo.request('POST', '/api/v1/users', {
      token: ceo.accessToken,
      body: { username: 'x.y.z', password: PASSWORD, role: 'emperor' },
    });
    await ceo.createUser(`plain.${tag}`, PASSWORD, 'member');
    const manager = await loginAs(`boss.${tag}`);
    const member = await loginAs(`plain.${tag}`);

    const listed = await manager.listUsers('limit=100');
    const memberList = await member.request('GET', '/api/v1/users', { token: member.accessToken });
    const managerCreate = await manager.request('POST', '/api/v1/users', {
      token: manager.accessToken,
      body: { username: 'nope.user', password: PASSWORD, role: 'member' },
    });
    const anonymous = await h.client().request('GET', '/api/v1/users');

    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ code: 4001 });
    expect(badRole.status).toBe(422);
    expect(listed.items.map((u) => u.username)).toEqual(
      expect.arrayContaining([`boss.${tag}`, `plain.${tag}`]),
    );
    expect(listed.items[0]).not.toHaveProperty('password_hash');
    expect(memberList.status).toBe(403);
    expect(managerCreate.status).toBe(403);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: 1000 });
  });

  it("a role change revokes that user's sessions; the new role is in the next login's token", async () => {
    const ceo = (await freshSession('ceo')).client;
    const user = await newUser();
    const session = await loginAs(user.username);

    const changed = await ceo.changeRole(user.id, 'manager');
    const unknown = await ceo.request('PATCH', '/api/v1/users/00000000-0000-4000-8000-000000000000', {
      token: ceo.accessToken,
      body: { role: 'member' },
    });

    expect(changed.role).toBe('manager');
    expect(
      (await session.request('GET', '/api/v1/auth/me', { token: session.accessToken })).body,
    ).toMatchObject({
      code: 1002,
    });
    expect(unknown.status).toBe(404);
    expect((await (await loginAs(user.username)).me()).role).toBe('manager');
  });

  it('answers 422 for an invalid role or unknown fields, 404 for a malformed or unknown user id', async () => {
    const ceo = (await freshSession('ceo')).client;
    const user = await newUser();

    const badRole = await ceo.request('PATCH', `/api/v1/users/${user.id}`, {
      token: ceo.accessToken,
      body: { role: 'king' },
    });
    const extra = await ceo.request('PATCH', `/api/v1/users/${user.id}`, {
      token: ceo.accessToken,
      body: { role: 'member', username: 'renamed' },
    });
    const malformed = await ceo.request('DELETE', '/api/v1/users/not-a-uuid/sessions', {
      token: ceo.accessToken,
    });
    const unknown = await ceo.request(
      'DELETE',
      '/api/v1/users/00000000-0000-4000-8000-000000000000/sessions',
      {
        token: ceo.accessToken,
      },
    );
    const shortPassword = await ceo.request('POST', '/api/v1/users', {
      token: ceo.accessToken,
      body: { username: 'short.pw', password: 'short', role: 'member' },
    });
    const badName = await ceo.request('POST', '/api/v1/users', {
      token: ceo.accessToken,
      body: { username: 'no spaces allowed', password: PASSWORD, role: 'member' },
    });

    expect(badRole.status).toBe(422);
    expect(badRole.body).toMatchObject({ code: 2000, errors: [{ path: 'role' }] });
    expect(extra.status).toBe(422);
    expect(malformed.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(shortPassword.status).toBe(422);
    expect(shortPassword.body).toMatchObject({ errors: [{ path: 'password' }] });
    expect(badName.status).toBe(422);
    expect(badName.body).toMatchObject({ errors: [{ path: 'username' }] });
  });

  it('DELETE /users/{id}/sessions revokes every session of that user', async () => {
    const ceo = (await freshSession('ceo')).client;
    const user = await newUser('observer');
    const a = await loginAs(user.username);
    await loginAs(user.username);

    const result = await ceo.revokeUserSessions(user.id);

    expect(result.revoked).toBe(2);
    expect((await a.request('GET', '/api/v1/auth/me', { token: a.accessToken })).status).toBe(401);
  });
});

describe('the last ceo', () => {
  // "Last" depends on every ceo in the database: this test owns one with a single ceo.
  let solo: AuthHarness;
  beforeAll(async () => {
    solo = await startAuthHarness();
  });
  afterAll(async () => {
    await solo.cleanup();
  });

  it('answers 409 code 4000 to demoting the only ceo', async () => {
    const ceo = await solo.ceo('only.ceo');

    const res = await ceo.request('PATCH', `/api/v1/users/${(await ceo.me()).id}`, {
      token: ceo.accessToken,
      body: { role: 'member' },
    });

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 4000 });
  });
});

describe('operations', () => {
  it('serves /healthz, /readyz and the JWKS (public keys only)', async () => {
    const c = h.client();
    expect((await c.request('GET', '/healthz')).status).toBe(200);
    expect((await c.request('GET', '/readyz')).status).toBe(200);
    const jwks = await c.jwks();
    expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });

  it('serves Prometheus metrics on the metrics port only', async () => {
    await freshSession();
    const metrics = await fetch(`http://127.0.0.1:${h.replicas[0]!.metricsPort}/metrics`);
    const text = await metrics.text();
    const onApiPort = await h.client().request('GET', '/metrics');

    expect(metrics.status).toBe(200);
    expect(text).toMatch(/concord_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/auth\/login"/);
    expect(text).toMatch(/concord_revoked_sessions\{/);
    expect(onApiPort.status).toBe(404);
  });

  it('reports the revocation health reason, the outbox lag and pending revocations', async () => {
    const scrape = async () => (await fetch(`http://127.0.0.1:${h.replicas[0]!.metricsPort}/metrics`)).text();
    // The backlog is measured once per relay pass (a quarter lease); a revoke of an earlier test may
    // have been committed but not yet marked at the last one.
    let text = await scrape();
    for (let i = 0; i < 10 && !/^concord_revocations_pending\{[^}]*\} 0$/m.test(text); i++) {
      await new Promise((r) => setTimeout(r, 200));
      text = await scrape();
    }

    expect(text).toMatch(/^concord_revocation_health\{[^}]*reason="ok"[^}]*\} 1$/m);
    for (const reason of ['loading', 'lease-expired', 'unregistered', 'disconnected']) {
      expect(text).toMatch(
        new RegExp(`^concord_revocation_health\\{[^}]*reason="${reason}"[^}]*\\} 0$`, 'm'),
      );
    }
    expect(text).toMatch(/^concord_outbox_lag_seconds\{[^}]*\} 0$/m);
    expect(text).toMatch(/^concord_revocations_pending\{[^}]*\} 0$/m);
    expect(text).toMatch(/^concord_revocations_awaiting_acks\{[^}]*\} 0$/m);
  });

  it('tags every response with the replica and request id', async () => {
    const res = await h.client().request('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-concord-replica']).toBe('auth-test-1');
    expect(res.headers['x-request-id']).toBe('abc-123');
  });
});
