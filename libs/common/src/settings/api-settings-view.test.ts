import { createLogger } from '../logging/logger';
import { apiSettings } from './api.settings';
import { apiRateLimitPolicy, apiStartSettings } from './api-settings-view';
import { createSettingsFollower } from './settings-follower';
import type { StoredSettingRow } from './stored-settings';

const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'test-1' });

function row(key: string, value: unknown, revision: number): StoredSettingRow {
  return { namespace: 'api', key, value, revision, updatedAt: new Date(0), updatedBy: null };
}

/** A follower over in-memory rows and a subscription that never delivers anything. */
async function followerOver(rows: StoredSettingRow[], env: Record<string, unknown> = {}) {
  const follower = createSettingsFollower({
    namespaces: [apiSettings({ maxAccessTtlSeconds: 3600 })],
    source: { read: () => Promise.resolve(rows) },
    subscription: { subscribe: () => Promise.resolve(), onConnectionChange: () => undefined },
    envValues: new Map(Object.entries(env)),
    logger,
  });
  await follower.start();
  return follower;
}

describe('apiStartSettings', () => {
  it('when the environment pins nothing, takes the stored restart keys', async () => {
    const follower = await followerOver([
      row('trusted_proxies', ['10.1.0.0/16'], 1),
      row('cors_allowed_origins', ['https://app.example'], 2),
      row('ssl_certfile', '/tls/cert.pem', 3),
      row('ssl_keyfile', '/tls/key.pem', 4),
    ]);

    const settings = apiStartSettings(follower);

    expect(settings.trustedProxies.map(([address, bits]) => `${address.toString()}/${bits}`)).toEqual([
      '10.1.0.0/16',
    ]);
    expect(settings.corsAllowedOrigins).toEqual(['https://app.example']);
    expect(settings.tls).toEqual({ cert: '/tls/cert.pem', key: '/tls/key.pem' });
  });

  it('when the environment pins a restart key, its value wins over the stored one', async () => {
    const follower = await followerOver([row('server_host', '0.0.0.0', 1)], { server_host: '127.0.0.9' });

    expect(apiStartSettings(follower).host).toBe('127.0.0.9');
  });

  it('when no TLS file is set anywhere, there is no TLS', async () => {
    const follower = await followerOver([]);

    expect(apiStartSettings(follower).tls).toBeUndefined();
  });
});

describe('apiRateLimitPolicy', () => {
  it('reads the stored maximum and unit over the env ones', async () => {
    const follower = await followerOver(
      [row('rate_limit_max_requests', 250, 1), row('rate_limit_time_unit', 'second', 2)],
      { rate_limit_max_requests: 5000 },
    );

    expect(apiRateLimitPolicy(follower)()).toEqual({ maxRequests: 250, timeUnit: 'second' });
  });
});
