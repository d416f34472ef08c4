import { apiSettings } from './api.settings';
import { readEnvSettings } from './setting-env';

const api = apiSettings({ maxAccessTtlSeconds: 3600 });

describe('readEnvSettings', () => {
  it('decodes each format: text, integer, comma lists', () => {
    const { values, problems } = readEnvSettings(api, {
      HOST: '0.0.0.0',
      RATE_LIMIT_MAX_REQUESTS: '250',
      TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2/32',
      CORS_ALLOWED_ORIGINS: 'https://a.example,https://b.example',
    });

    expect(problems).toEqual([]);
    expect(Object.fromEntries(values)).toEqual({
      server_host: '0.0.0.0',
      rate_limit_max_requests: 250,
      trusted_proxies: ['10.0.0.1', '10.0.0.2/32'],
      cors_allowed_origins: ['https://a.example', 'https://b.example'],
    });
  });

  it('pins nothing for empty values and for PORT=0 (any free port)', () => {
    const { values } = readEnvSettings(api, { PORT: '0', TLS_CERT_FILE: '', HOST: '  ' });

    expect(values.size).toBe(0);
  });

  it('refuses values below a security floor, naming the env key and never echoing the value', () => {
    const { problems } = readEnvSettings(api, {
      MIN_PASSWORD_LENGTH: '8',
      JWT_EXPIRY_MINUTES: 'soon',
      TLS_KEY_FILE: 'relative-secret.pem',
    });

    expect(problems).toEqual([
      expect.stringMatching(/^TLS_KEY_FILE: /),
      expect.stringMatching(/^JWT_EXPIRY_MINUTES: expected an integer/),
      expect.stringMatching(/^MIN_PASSWORD_LENGTH: .*api\.min_password_length/),
    ]);
    expect(problems.join('\n')).not.toContain('relative-secret');
  });
});
