import { readConfig } from '../src/config';
import { RegistryError } from '../src/domain/setting-registry';
import { startSettingsService } from '../src/main';
import {
  bearer,
  startSettingsHarness,
  type SettingsHarness,
  type TestUser,
} from './support/settings-harness';

let h: SettingsHarness;

// This process's environment pins a live key (RATE_LIMIT_MAX_REQUESTS) and, through HOST, a restart
// key (server_host); PORT=0 pins nothing.
beforeAll(async () => {
  h = await startSettingsHarness({ env: { RATE_LIMIT_MAX_REQUESTS: '250' } });
});
afterAll(async () => {
  await h.cleanup();
});

function setting(user: TestUser, key: string) {
  return h.http().get(`/api/v1/settings/api/${key}`).set('Authorization', bearer(user));
}

function put(user: TestUser, key: string, value: unknown) {
  return h.http().put(`/api/v1/settings/api/${key}`).set('Authorization', bearer(user)).send({ value });
}

describe('a live key: stored > env > default', () => {
  it('answers the env value with source env while nothing is stored', async () => {
    const reader = await h.user('member');

    const res = await setting(reader, 'rate_limit_max_requests');

    expect(res.body).toMatchObject({ value: 250, source: 'env', revision: 0 });
  });

  it('a stored value wins over the env value, and a reset falls back to the env value', async () => {
    const manager = await h.user('manager');

    const stored = await put(manager, 'rate_limit_max_requests', 300);
    const reset = await h
      .http()
      .delete('/api/v1/settings/api/rate_limit_max_requests')
      .set('Authorization', bearer(manager));

    expect(stored.body).toMatchObject({ value: 300, source: 'stored' });
    expect(reset.body).toMatchObject({ value: 250, source: 'env' });
  });

  it('without env or stored value, answers the default', async () => {
    const reader = await h.user('member');

    const res = await setting(reader, 'min_password_length');

    expect(res.body).toMatchObject({ value: 12, source: 'default' });
  });
});

describe('a restart key: env > stored > default', () => {
  it('the env value wins over a stored one, which is still recorded', async () => {
    const ceo = await h.user('ceo');

    const res = await put(ceo, 'server_host', '0.0.0.0');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ value: '127.0.0.1', source: 'env' });
    const stored = await h.pool.query(
      "SELECT value FROM settings WHERE namespace = 'api' AND key = 'server_host'",
    );
    expect(stored.rows[0]).toEqual({ value: '0.0.0.0' });
  });

  it('without env, a stored value wins over the default', async () => {
    const ceo = await h.user('ceo');
    const before = await setting(ceo, 'server_port');

    const res = await put(ceo, 'server_port', 8080);

    expect(before.body).toMatchObject({ value: 3001, source: 'default' });
    expect(res.body).toMatchObject({ value: 8080, source: 'stored' });
  });
});

describe('start-up validation', () => {
  it('when a default fails its own schema (jwt_expiry_minutes 15 > JWT_MAX_ACCESS_TTL_SECONDS 600 / 60), the process does not start', async () => {
    const config = readConfig({ ...h.env, JWT_MAX_ACCESS_TTL_SECONDS: '600' });

    const started = startSettingsService(config);

    await expect(started).rejects.toThrow(RegistryError);
    await expect(started).rejects.toThrow(/api\.jwt_expiry_minutes: the default fails its own schema/);
  });
});
