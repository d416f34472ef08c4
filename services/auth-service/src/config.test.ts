import { ConfigError } from '@concord/common';
import { readConfig } from './config';

const REQUIRED = {
  JWT_KEYS_FILE: '/var/lib/concord/keys/jwt-keys.json',
  REFRESH_TOKEN_SECRET: 'r'.repeat(43),
};

function problems(env: Record<string, string>): string[] {
  try {
    readConfig({ ...REQUIRED, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('auth-service config', () => {
  it('when JWT_EXPIRY_MINUTES exceeds JWT_MAX_ACCESS_TTL_SECONDS / 60, refuses to start naming it', () => {
    const found = problems({ JWT_EXPIRY_MINUTES: '31', JWT_MAX_ACCESS_TTL_SECONDS: '1800' });

    expect(found).toEqual([expect.stringMatching(/^JWT_EXPIRY_MINUTES: .*api\.jwt_expiry_minutes/)]);
  });

  it('accepts a JWT_EXPIRY_MINUTES equal to JWT_MAX_ACCESS_TTL_SECONDS / 60', () => {
    const config = readConfig({ ...REQUIRED, JWT_EXPIRY_MINUTES: '30', JWT_MAX_ACCESS_TTL_SECONDS: '1800' });

    expect(config.SETTINGS_ENV.get('jwt_expiry_minutes')).toBe(30);
  });

  it('when the old ACCESS_TOKEN_TTL_SECONDS is set, refuses to start naming its replacement', () => {
    const found = problems({ ACCESS_TOKEN_TTL_SECONDS: '900' });

    expect(found).toEqual([
      expect.stringMatching(/^ACCESS_TOKEN_TTL_SECONDS: replaced by JWT_EXPIRY_MINUTES/),
    ]);
  });

  it('when MIN_PASSWORD_LENGTH is below the floor of 12, refuses to start naming it', () => {
    const found = problems({ MIN_PASSWORD_LENGTH: '8' });

    expect(found).toEqual([expect.stringMatching(/^MIN_PASSWORD_LENGTH: /)]);
  });

  it('reports the token-lifetime bound together with an unrelated bad key', () => {
    const found = problems({
      JWT_EXPIRY_MINUTES: '31',
      JWT_MAX_ACCESS_TTL_SECONDS: '1800',
      LOG_LEVEL: 'loud',
    });

    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['JWT_EXPIRY_MINUTES', 'LOG_LEVEL']);
  });

  it('listens for sibling services on 4111 by default', () => {
    expect(readConfig(REQUIRED).INTERNAL_PORT).toBe(4111);
  });

  it('when INTERNAL_PORT equals PORT, refuses to start naming it', () => {
    const found = problems({ PORT: '4111', INTERNAL_PORT: '4111' });

    expect(found).toEqual([expect.stringMatching(/^INTERNAL_PORT: must differ from PORT/)]);
  });

  it('lets tests put every listener on port 0', () => {
    const config = readConfig({ ...REQUIRED, PORT: '0', METRICS_PORT: '0', INTERNAL_PORT: '0' });

    expect([config.PORT, config.METRICS_PORT, config.INTERNAL_PORT]).toEqual([0, 0, 0]);
  });
});

describe('auth-service config: revocation timing', () => {
  it('when REVOCATION_CLOCK_SKEW_MS is half of REVOCATION_LEASE_MS, refuses it', () => {
    expect(problems({ REVOCATION_LEASE_MS: '1000', REVOCATION_CLOCK_SKEW_MS: '500' })).toEqual([
      expect.stringMatching(/^REVOCATION_CLOCK_SKEW_MS: .*half of REVOCATION_LEASE_MS/),
    ]);
  });

  it('when REVOCATION_CLOCK_SKEW_MS is above half of REVOCATION_LEASE_MS, refuses it', () => {
    expect(problems({ REVOCATION_LEASE_MS: '1000', REVOCATION_CLOCK_SKEW_MS: '900' })).toHaveLength(1);
  });

  it('when REVOCATION_CLOCK_SKEW_MS is just below half of REVOCATION_LEASE_MS, accepts it', () => {
    const config = readConfig({ ...REQUIRED, REVOCATION_LEASE_MS: '1000', REVOCATION_CLOCK_SKEW_MS: '499' });

    expect(config.REVOCATION_CLOCK_SKEW_MS).toBe(499);
  });

  it('when another key is bad too, names both in one error', () => {
    const found = problems({ PORT: 'eighty', REVOCATION_LEASE_MS: '1000', REVOCATION_CLOCK_SKEW_MS: '500' });

    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        expect.stringMatching(/^REVOCATION_CLOCK_SKEW_MS: /),
      ]),
    );
    expect(found).toHaveLength(2);
  });
});
