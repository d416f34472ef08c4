import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnvSchema, checkTlsPairing, withBaseRules, withTlsPairing } from './base-config';
import { ConfigError, exposureWarning, loadConfig } from './load-config';

const schema = baseEnvSchema({ service: 'x', port: 1, metricsPort: 2 }).superRefine(checkTlsPairing);

function configError(env: Record<string, string | undefined>, target = schema): ConfigError {
  try {
    loadConfig(target, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig with the base schema', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let ca: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'load-config-'));
    [cert, key, ca] = ['cert.pem', 'key.pem', 'ca.pem'].map((name) => {
      const path = join(dir, name);
      writeFileSync(path, 'pem');
      return path;
    }) as [string, string, string];
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the defaults to an empty environment', () => {
    const config = loadConfig(schema, {});

    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 1,
      METRICS_PORT: 2,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/concord',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'concord:',
      TRUSTED_PROXIES: [],
      JWT_ISSUER: 'https://localhost:8443',
      JWT_AUDIENCE: 'concord',
      JWT_CLOCK_TOLERANCE_SECONDS: 60,
      JWT_MAX_ACCESS_TTL_SECONDS: 3600,
      REVOCATION_LEASE_MS: 10_000,
      EXPOSE_REPLICA_HEADER: false,
      LOG_LEVEL: 'info',
    });
    expect(config.TLS_CERT_FILE).toBeUndefined();
    expect(config.JWKS_URL).toBeUndefined();
    expect(config.REPLICA_ID).toMatch(/^x-/);
  });

  it('returns a frozen object', () => {
    const config = loadConfig(schema, {});

    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig(schema, {
      HOST: '',
      PORT: '',
      TRUSTED_PROXIES: '',
      TLS_CERT_FILE: '',
      TLS_KEY_FILE: '  ',
      TLS_CA_FILE: '',
      JWKS_URL: '',
      LOG_LEVEL: '',
    });

    expect(config).toMatchObject({ HOST: '127.0.0.1', PORT: 1, TRUSTED_PROXIES: [], LOG_LEVEL: 'info' });
    expect(config.TLS_CERT_FILE).toBeUndefined();
    expect(config.TLS_KEY_FILE).toBeUndefined();
    expect(config.JWKS_URL).toBeUndefined();
  });

  describe('TRUSTED_PROXIES', () => {
    it.each(['0.0.0.0/0', '::/0', '10.0.0.0/8,0.0.0.0/0', '::ffff:0.0.0.0/96'])(
      'refuses %s, which trusts every address',
      (value) => {
        const err = configError({ TRUSTED_PROXIES: value });

        expect(err.message).toMatch(/TRUSTED_PROXIES: .*prefix of length 0 is refused/);
      },
    );

    it('accepts IPv4 and IPv6 addresses and networks', () => {
      const config = loadConfig(schema, { TRUSTED_PROXIES: '10.0.0.0/8,::1,2001:db8::/32' });

      expect(config.TRUSTED_PROXIES.map(([address, prefix]) => `${address.toString()}/${prefix}`)).toEqual([
        '10.0.0.0/8',
        '::1/128',
        '2001:db8::/32',
      ]);
    });

    it('normalises an IPv4-mapped IPv6 entry to IPv4', () => {
      const config = loadConfig(schema, { TRUSTED_PROXIES: '::ffff:127.0.0.2' });

      expect(config.TRUSTED_PROXIES.map(([address, prefix]) => `${address.toString()}/${prefix}`)).toEqual([
        '127.0.0.2/32',
      ]);
    });

    it('reads the IPv4-compatible ::127.0.0.2 as the IPv6 address it is, not as 127.0.0.2', () => {
      const config = loadConfig(schema, { TRUSTED_PROXIES: '::127.0.0.2' });

      expect(config.TRUSTED_PROXIES.map(([address, prefix]) => `${address.toString()}/${prefix}`)).toEqual([
        '::7f00:2/128',
      ]);
    });

    it.each([
      'not-an-ip',
      '10.0.0.0/33',
      '10.0.0.0/8/8',
      '10.0.0.0/x',
      '10/8',
      '127.1',
      '0x7f000001',
      '2130706433',
      '010.0.0.1',
      '10.0.0.0/8,,::1',
      '2001:db8::/129',
      'fe80::1%eth0',
      '::ffff:0x7f.0.0.2',
      '::ffff:127.0.0.02',
    ])('refuses %j', (value) => {
      const err = configError({ TRUSTED_PROXIES: value });

      expect(err.message).toMatch(/TRUSTED_PROXIES: /);
    });
  });

  describe('TLS files', () => {
    it('refuses a certificate without a key', () => {
      expect(configError({ TLS_CERT_FILE: cert }).message).toMatch(/TLS_KEY_FILE: .*set together/);
    });

    it('refuses a key without a certificate', () => {
      expect(configError({ TLS_KEY_FILE: key }).message).toMatch(/TLS_CERT_FILE: .*set together/);
    });

    it('refuses a CA without certificate and key', () => {
      expect(configError({ TLS_CA_FILE: ca }).message).toMatch(/TLS_CA_FILE: .*requires TLS_CERT_FILE/);
    });

    it('refuses a CA with a certificate but no key', () => {
      const err = configError({ TLS_CA_FILE: ca, TLS_CERT_FILE: cert });

      expect(err.message).toMatch(/TLS_CA_FILE: /);
      expect(err.message).toMatch(/TLS_KEY_FILE: /);
    });

    it('accepts certificate and key together, with or without a CA', () => {
      expect(loadConfig(schema, { TLS_CERT_FILE: cert, TLS_KEY_FILE: key })).toMatchObject({
        TLS_CERT_FILE: cert,
        TLS_KEY_FILE: key,
      });
      expect(
        loadConfig(schema, { TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_CA_FILE: ca }).TLS_CA_FILE,
      ).toBe(ca);
    });

    it('refuses a TLS file that does not exist', () => {
      const err = configError({ TLS_CERT_FILE: cert, TLS_KEY_FILE: join(dir, 'missing.pem') });

      expect(err.message).toMatch(/TLS_KEY_FILE: file does not exist/);
    });

    it('refuses a directory given as a TLS file', () => {
      expect(configError({ TLS_CERT_FILE: dir, TLS_KEY_FILE: key }).message).toMatch(/TLS_CERT_FILE: /);
    });
  });

  it('names every bad key in one ConfigError', () => {
    const err = configError({
      PORT: 'eighty',
      METRICS_PORT: '70000',
      TRUSTED_PROXIES: '0.0.0.0/0',
      REDIS_URL: 'http://redis',
      LOG_LEVEL: 'loud',
      EXPOSE_REPLICA_HEADER: 'maybe',
    });

    for (const key of [
      'PORT',
      'METRICS_PORT',
      'TRUSTED_PROXIES',
      'REDIS_URL',
      'LOG_LEVEL',
      'EXPOSE_REPLICA_HEADER',
    ]) {
      expect(err.message).toMatch(new RegExp(`^  - ${key}: `, 'm'));
    }
    expect(err.problems).toHaveLength(6);
  });

  it('when REDIS_CLUSTER_NODES is set, parses its host:port seeds (IPv6 in brackets)', () => {
    const config = loadConfig(schema, {
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-1.redis:7001,[::1]:7002',
    });

    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-1.redis', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('when REDIS_CLUSTER_NODES is empty, leaves it unset (REDIS_URL applies)', () => {
    expect(loadConfig(schema, { REDIS_CLUSTER_NODES: '' }).REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it('refuses a REDIS_CLUSTER_NODES entry that is not host:port, naming its position only', () => {
    for (const bad of ['10.0.0.1', 'redis://10.0.0.1:7000', '10.0.0.1:0', '10.0.0.1:7000,', 'h:70000']) {
      const err = configError({ REDIS_CLUSTER_NODES: bad });

      expect(err.message).toMatch(/^ {2}- REDIS_CLUSTER_NODES: entry \d+ is not host:port/m);
      expect(err.message).not.toContain('10.0.0.1');
    }
  });

  it('never echoes the bad values back (they may be secrets)', () => {
    const err = configError({ REDIS_URL: 'http://user:hunter2@redis', PORT: 'hunter3' });

    expect(err.message).not.toMatch(/hunter/);
  });

  it('with withTlsPairing, reports a half-configured TLS pair alongside other bad keys', () => {
    const paired = withTlsPairing(baseEnvSchema({ service: 'x', port: 1, metricsPort: 2 }));

    const err = configError({ PORT: 'eighty', TLS_CERT_FILE: cert }, paired);

    expect(err.message).toMatch(/^ {2}- PORT: /m);
    expect(err.message).toMatch(/^ {2}- TLS_KEY_FILE: .*set together/m);
  });

  describe('with withBaseRules', () => {
    const ruled = withBaseRules(baseEnvSchema({ service: 'x', port: 1, metricsPort: 2 }));

    it('refuses REVOCATION_CLOCK_SKEW_MS at half of REVOCATION_LEASE_MS', () => {
      const err = configError({ REVOCATION_LEASE_MS: '2000', REVOCATION_CLOCK_SKEW_MS: '1000' }, ruled);

      expect(err.problems).toEqual(['REVOCATION_CLOCK_SKEW_MS: must be below half of REVOCATION_LEASE_MS']);
    });

    it('accepts the default skew and lease', () => {
      expect(loadConfig(ruled, {})).toMatchObject({
        REVOCATION_LEASE_MS: 10_000,
        REVOCATION_CLOCK_SKEW_MS: 250,
      });
    });

    it('names the skew, a bad port and a half TLS pair in one ConfigError', () => {
      const err = configError(
        { PORT: 'eighty', TLS_CERT_FILE: cert, REVOCATION_LEASE_MS: '1000', REVOCATION_CLOCK_SKEW_MS: '600' },
        ruled,
      );

      expect(err.problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'PORT',
        'REVOCATION_CLOCK_SKEW_MS',
        'TLS_KEY_FILE',
      ]);
    });

    it('leaves a skew that is itself invalid to its own issue', () => {
      const err = configError({ REVOCATION_CLOCK_SKEW_MS: 'soon' }, ruled);

      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^REVOCATION_CLOCK_SKEW_MS: /);
      expect(err.problems[0]).not.toMatch(/half/);
    });
  });

  it('with a plain superRefine, zod skips the TLS pairing check when another key is bad', () => {
    // Documents why withTlsPairing exists: this is zod 4 behaviour, not a choice.
    const err = configError({ PORT: 'eighty', TLS_CERT_FILE: cert });

    expect(err.message).not.toMatch(/TLS_KEY_FILE/);
  });
});

describe('exposureWarning', () => {
  const proxies = loadConfig(schema, { TRUSTED_PROXIES: '127.0.0.2/32' }).TRUSTED_PROXIES;

  it.each(['0.0.0.0', '::', '[::]'])(
    'warns when HOST=%s binds every interface without TLS or proxies',
    (host) => {
      expect(exposureWarning({ HOST: host, TRUSTED_PROXIES: [] })).toMatch(/exposed in clear text/);
    },
  );

  it('is silent when TLS is configured', () => {
    expect(
      exposureWarning({ HOST: '0.0.0.0', TLS_CERT_FILE: '/tls/cert.pem', TRUSTED_PROXIES: [] }),
    ).toBeUndefined();
  });

  it('is silent when trusted proxies are configured', () => {
    expect(exposureWarning({ HOST: '::', TRUSTED_PROXIES: proxies })).toBeUndefined();
  });

  it('is silent for a loopback or specific address', () => {
    expect(exposureWarning({ HOST: '127.0.0.1', TRUSTED_PROXIES: [] })).toBeUndefined();
    expect(exposureWarning({ HOST: '10.1.2.3', TRUSTED_PROXIES: [] })).toBeUndefined();
  });
});
