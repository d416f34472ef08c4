import request from 'supertest';
import { benchKey, bearer, startSettingsHarness, type SettingsHarness } from './support/settings-harness';

let h: SettingsHarness;

beforeAll(async () => {
  h = await startSettingsHarness({ env: { BODY_LIMIT_BYTES: '1024' } });
});
afterAll(async () => {
  await h.cleanup();
});

describe('404', () => {
  it.each([
    ['an unknown namespace', '/api/v1/settings/nope'],
    ['an unknown key', '/api/v1/settings/api/not_a_setting'],
    ['a bench key outside its pattern', '/api/v1/settings/bench/Upper-Case'],
    ['a case variant of the path', '/api/v1/Settings/api/server_port'],
    ['a case variant of a key', '/api/v1/settings/api/Server_Port'],
    ['a trailing slash', '/api/v1/settings/api/server_port/'],
    ['the settings root', '/api/v1/settings'],
  ])('%s answers 404 code 3000 as a problem', async (_label, path) => {
    const reader = await h.user('member');

    const res = await h.http().get(path).set('Authorization', bearer(reader));

    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 3000, error: 'RESOURCE_NOT_FOUND' });
  });

  it('namespace bench does not exist unless SETTINGS_BENCH_NAMESPACE=true', async () => {
    const { url } = await h.startReplica({ SETTINGS_BENCH_NAMESPACE: 'false' });
    const reader = await h.user('member');

    const res = await request(url)
      .get(`/api/v1/settings/bench/${benchKey('off')}`)
      .set('Authorization', bearer(reader));

    expect(res.status).toBe(404);
  });
});

describe('405', () => {
  it.each([
    ['POST', '/api/v1/settings/api/server_port', 'GET, PUT, DELETE, HEAD'],
    ['PUT', '/api/v1/settings/api', 'GET, PATCH, HEAD'],
    ['DELETE', '/api/v1/settings/api/server_port/history', 'GET, HEAD'],
  ])('%s %s answers 405 with Allow: %s', async (method, path, allow) => {
    const user = await h.user('ceo');

    const agent = h.http();
    const res = await agent[method.toLowerCase() as 'post' | 'put' | 'delete'](path).set(
      'Authorization',
      bearer(user),
    );

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body.code).toBe(2003);
  });
});

describe('bodies', () => {
  it('a body that is not JSON answers 415', async () => {
    const user = await h.user('manager');

    const res = await h
      .http()
      .put(`/api/v1/settings/bench/${benchKey('text')}`)
      .set('Authorization', bearer(user))
      .set('Content-Type', 'text/plain')
      .send('value=1');

    expect(res.status).toBe(415);
    expect(res.body.code).toBe(2004);
  });

  it('broken JSON answers 400 code 2001', async () => {
    const user = await h.user('manager');

    const res = await h
      .http()
      .put(`/api/v1/settings/bench/${benchKey('broken')}`)
      .set('Authorization', bearer(user))
      .set('Content-Type', 'application/json')
      .send('{"value":');

    expect(res.status).toBe(400);
    expect(res.body.code).toBe(2001);
  });

  it('a body over BODY_LIMIT_BYTES answers 413', async () => {
    const user = await h.user('manager');

    const res = await h
      .http()
      .patch('/api/v1/settings/bench')
      .set('Authorization', bearer(user))
      .send({ items: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: i })) });

    expect(res.status).toBe(413);
    expect(res.body.code).toBe(2002);
  });

  it('a PUT without value, or with null, answers 422 with field errors', async () => {
    const user = await h.user('manager');
    const key = benchKey('no_value');

    const missing = await h
      .http()
      .put(`/api/v1/settings/bench/${key}`)
      .set('Authorization', bearer(user))
      .send({});
    const nulled = await h
      .http()
      .put(`/api/v1/settings/bench/${key}`)
      .set('Authorization', bearer(user))
      .send({ value: null });

    for (const res of [missing, nulled]) {
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 2000, errors: [{ path: 'value' }] });
    }
  });

  it('a PUT with an unknown member answers 422', async () => {
    const user = await h.user('manager');

    const res = await h
      .http()
      .put(`/api/v1/settings/bench/${benchKey('extra')}`)
      .set('Authorization', bearer(user))
      .send({ value: 1, revision: 3 });

    expect(res.status).toBe(422);
  });
});
