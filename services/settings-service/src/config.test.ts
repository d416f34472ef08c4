import { ConfigError } from '@concord/common';
import { readConfig } from './config';

const MINIMAL = { JWKS_URL: 'http://127.0.0.1:4101/.well-known/jwks.json' };

function problems(env: Record<string, string>): string[] {
  try {
    readConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('readConfig', () => {
  it('defaults to ports 4201 and 9201, bench off, If-Match not required', () => {
    const config = readConfig(MINIMAL);

    expect(config).toMatchObject({
      PORT: 4201,
      METRICS_PORT: 9201,
      SETTINGS_BENCH_NAMESPACE: false,
      SETTINGS_REQUIRE_IF_MATCH: false,
      JWT_MAX_ACCESS_TTL_SECONDS: 3600,
    });
  });

  it('requires JWKS_URL: settings-service verifies tokens and never signs them', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^JWKS_URL: required/)]);
  });

  it('refuses an env value below a setting floor in the same one message as other bad keys', () => {
    expect(problems({ ...MINIMAL, MIN_PASSWORD_LENGTH: '8', PORT: 'x' })).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^MIN_PASSWORD_LENGTH: /),
    ]);
  });

  it('keeps the api settings its environment pins, parsed', () => {
    const config = readConfig({ ...MINIMAL, RATE_LIMIT_TIME_UNIT: 'hour', TRUSTED_PROXIES: '127.0.0.2/32' });

    expect(Object.fromEntries(config.SETTINGS_ENV)).toEqual({
      rate_limit_time_unit: 'hour',
      trusted_proxies: ['127.0.0.2/32'],
    });
  });
});
