import { z } from 'zod';
import { baseEnvSchema } from '../config/base-config';
import { ConfigError } from '../config/load-config';
import { loadConfigWithApiSettings } from './api-settings-config';

const schema = baseEnvSchema({ service: 'test', port: 4999, metricsPort: 9999 }).extend({
  EXTRA: z.string().optional(),
});

describe('loadConfigWithApiSettings', () => {
  it('keeps the api settings the environment pins, parsed', () => {
    const config = loadConfigWithApiSettings(schema, {
      RATE_LIMIT_MAX_REQUESTS: '5000',
      CORS_ALLOWED_ORIGINS: 'https://a.example,https://b.example',
    });

    expect(Object.fromEntries(config.SETTINGS_ENV)).toEqual({
      rate_limit_max_requests: 5000,
      cors_allowed_origins: ['https://a.example', 'https://b.example'],
    });
  });

  it('when an api env value is below its floor, names it together with the other bad keys', () => {
    const load = () =>
      loadConfigWithApiSettings(schema, { MIN_PASSWORD_LENGTH: '8', REVOCATION_LEASE_MS: 'often' });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /MIN_PASSWORD_LENGTH[\s\S]*REVOCATION_LEASE_MS|REVOCATION_LEASE_MS[\s\S]*MIN_PASSWORD_LENGTH/,
    );
  });

  it('bounds JWT_EXPIRY_MINUTES by this process JWT_MAX_ACCESS_TTL_SECONDS', () => {
    const load = () =>
      loadConfigWithApiSettings(schema, { JWT_MAX_ACCESS_TTL_SECONDS: '600', JWT_EXPIRY_MINUTES: '15' });

    expect(load).toThrow(/JWT_EXPIRY_MINUTES/);
  });
});
