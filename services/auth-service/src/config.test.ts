import { ConfigError } from '@concord/common';
import { readConfig } from './config';

const REQUIRED = { JWT_KEYS_FILE: '/keys/jwt-keys.json', REFRESH_TOKEN_SECRET: 'x'.repeat(32) };

function problems(env: Record<string, string>): string[] {
  try {
    readConfig({ ...REQUIRED, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

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
    expect(problems({ REVOCATION_LEASE_MS: '1000', REVOCATION_CLOCK_SKEW_MS: '499' })).toEqual([]);
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
