import type { Role } from '@concord/client';
import {
  benchKey,
  bearer,
  startSettingsHarness,
  type SettingsHarness,
  type TestUser,
} from './support/settings-harness';

let h: SettingsHarness;

beforeAll(async () => {
  h = await startSettingsHarness();
});
afterAll(async () => {
  await h.cleanup();
});

function put(user: TestUser, key: string, value: unknown, namespace = 'api') {
  return h
    .http()
    .put(`/api/v1/settings/${namespace}/${key}`)
    .set('Authorization', bearer(user))
    .send({ value });
}

async function storedValue(key: string): Promise<unknown> {
  const result = await h.pool.query<{ value: unknown }>(
    "SELECT value FROM settings WHERE namespace = 'api' AND key = $1",
    [key],
  );
  return result.rows[0]?.value;
}

describe('reading', () => {
  it.each<Role>(['member', 'observer'])('role %s lists and reads settings', async (role) => {
    const reader = await h.user(role);

    const list = await h.http().get('/api/v1/settings/api').set('Authorization', bearer(reader));
    const one = await h
      .http()
      .get('/api/v1/settings/api/rate_limit_time_unit')
      .set('Authorization', bearer(reader));

    expect(list.status).toBe(200);
    expect((list.body.items as { key: string }[]).map((s) => s.key)).toHaveLength(15);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ key: 'rate_limit_time_unit', restart_required: false, writable: true });
  });

  it('without a token, answers 401', async () => {
    const res = await h.http().get('/api/v1/settings/api');

    expect(res.status).toBe(401);
    expect(res.body.code).toBe(1000);
  });

  it('a token whose session was revoked is refused with 401 code 1002 (the revocation cache is wired)', async () => {
    const user = await h.user('member');
    const client = h.auth.client();
    client.accessToken = user.token;
    const before = await h.http().get('/api/v1/settings/api').set('Authorization', bearer(user));

    await client.logout();
    const after = await h.http().get('/api/v1/settings/api').set('Authorization', bearer(user));
    client.close();

    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 1002, error: 'SESSION_REVOKED' });
  });

  it('setup_complete is true once a user exists', async () => {
    const reader = await h.user('observer');

    const res = await h
      .http()
      .get('/api/v1/settings/api/setup_complete')
      .set('Authorization', bearer(reader));

    expect(res.body).toMatchObject({ value: true, writable: false, source: 'stored' });
    expect(res.headers.etag).toBe('"1"');
  });
});

describe('writing', () => {
  it.each<Role>(['member', 'observer'])(
    'role %s may not write, and is told which roles may',
    async (role) => {
      const user = await h.user(role);

      const res = await put(user, 'rate_limit_max_requests', 50);

      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 1001, reason: 'role', writers: ['ceo', 'manager'] });
    },
  );

  it('a manager writes a live key', async () => {
    const manager = await h.user('manager');

    const res = await put(manager, 'rate_limit_max_requests', 250);

    expect(res.status).toBe(200);
    expect(await storedValue('rate_limit_max_requests')).toBe(250);
  });

  it('a manager may not write a restart_required key; only ceo may', async () => {
    const manager = await h.user('manager');
    const before = await storedValue('cors_allowed_origins');

    const res = await put(manager, 'cors_allowed_origins', ['https://evil.example']);

    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ reason: 'role', writers: ['ceo'] });
    expect(res.body.detail).toMatch(/restart_required/);
    expect(await storedValue('cors_allowed_origins')).toEqual(before);
  });

  it('a ceo writes a restart_required key', async () => {
    const ceo = await h.user('ceo');

    const res = await put(ceo, 'cors_allowed_origins', ['https://app.example.com']);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ restart_required: true, value: ['https://app.example.com'] });
  });

  it.each(['api_prefix', 'auth_exclude_paths', 'setup_complete'])(
    '%s refuses every writer, ceo included, with a problem saying it is read-only',
    async (key) => {
      const ceo = await h.user('ceo');

      const put403 = await put(
        ceo,
        key,
        key === 'setup_complete' ? false : key === 'api_prefix' ? '/v2' : ['/'],
      );
      const delete403 = await h
        .http()
        .delete(`/api/v1/settings/api/${key}`)
        .set('Authorization', bearer(ceo));

      for (const res of [put403, delete403]) {
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ code: 1001, reason: 'read_only' });
        expect(res.body.detail).toMatch(/cannot be written/);
      }
      expect(await storedValue(key)).toBeUndefined();
    },
  );

  it('a read-only key inside a PATCH refuses the whole batch', async () => {
    const ceo = await h.user('ceo');
    const before = await storedValue('min_password_length');

    const res = await h
      .http()
      .patch('/api/v1/settings/api')
      .set('Authorization', bearer(ceo))
      .send({
        items: [
          { key: 'min_password_length', value: 20 },
          { key: 'auth_exclude_paths', value: ['/api/v1/users'] },
        ],
      });

    expect(res.status).toBe(403);
    expect(await storedValue('min_password_length')).toEqual(before);
  });
});

describe('security floors: no writer, ceo included, goes below them', () => {
  it.each([
    ['jwt_expiry_minutes', 0],
    ['jwt_expiry_minutes', 61],
    ['min_password_length', 11],
    ['min_password_length', 129],
    ['trusted_proxies', ['0.0.0.0/0']],
    ['trusted_proxies', ['10.0.0.0/8', '::/0']],
    ['trusted_proxies', ['::ffff:0.0.0.0/96']],
    ['trusted_proxies', ['127.1']],
    ['rate_limit_max_requests', 0],
    ['server_port', 70000],
    ['cors_allowed_origins', ['*']],
    ['ssl_certfile', 'relative/cert.pem'],
  ])('%s = %j answers 422 with a field error and stores nothing', async (key, value) => {
    const ceo = await h.user('ceo');
    const before = await storedValue(key);

    const res = await put(ceo, key, value);

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 2000, errors: [{ path: expect.stringMatching(/^value/) }] });
    expect(await storedValue(key)).toEqual(before);
  });

  it('accepts the bounds themselves', async () => {
    const ceo = await h.user('ceo');

    const answers = await Promise.all([
      put(ceo, 'jwt_expiry_minutes', 60),
      put(ceo, 'min_password_length', 12),
      put(ceo, 'trusted_proxies', ['10.0.0.0/8', '::1']),
    ]);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it('with JWT_MAX_ACCESS_TTL_SECONDS=1800, jwt_expiry_minutes stops at 30', async () => {
    // Back to the default lifetime first: auth-service applies a stored jwt_expiry_minutes live, and a
    // token living longer than this replica's 1800 s bound would be refused (401) before any 422.
    const admin = await h.user('ceo');
    await h.http(0).delete('/api/v1/settings/api/jwt_expiry_minutes').set('Authorization', bearer(admin));
    await new Promise((r) => setTimeout(r, 1_000));
    const { url } = await h.startReplica({ JWT_MAX_ACCESS_TTL_SECONDS: '1800' });
    const ceo = await h.user('ceo');
    const agent = (await import('supertest')).default(url);

    const over = await agent
      .put('/api/v1/settings/api/jwt_expiry_minutes')
      .set('Authorization', bearer(ceo))
      .send({ value: 31 });
    const at = await agent
      .put('/api/v1/settings/api/jwt_expiry_minutes')
      .set('Authorization', bearer(ceo))
      .send({ value: 30 });

    expect(over.status).toBe(422);
    expect(at.status).toBe(200);
  });

  it('bench values must be integers', async () => {
    const manager = await h.user('manager');

    const res = await put(manager, benchKey('not_int'), 1.5, 'bench');

    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('value');
  });
});
