// The plan of the local stack, checked offline: ports of DESIGN.md section 2, an environment each
// service's own config schema accepts, verifiers fetching the JWKS from auth's internal listener
// (never an API port, DESIGN.md section 4), and secrets only where they belong.
import { readConfig as readAuthConfig } from '../../services/auth-service/src/config';
import { readConfig as readRealtimeConfig } from '../../services/realtime-service/src/config';
import { readConfig as readSettingsConfig } from '../../services/settings-service/src/config';
import { readServiceList } from '../service-list/service-list';
import {
  childEnvironment,
  gatewayUpstreams,
  replicaEnv,
  replicaPortClaims,
  stackReplicas,
  type SharedEnv,
} from './stack-plan';
import { unknownEnvNames } from '../../test/support/config-names';

const services = readServiceList();
const replicas = stackReplicas(services);

const SHARED: SharedEnv = {
  generated: {
    jwtKeysFile: '/run/keys/jwt-keys.json',
    secrets: { REFRESH_TOKEN_SECRET: 's'.repeat(43) },
  },
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/concord',
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'concord:',
  publicUrl: 'https://localhost:8443',
  logLevel: 'info',
};

const READ_CONFIG: Record<string, (env: Record<string, string | undefined>) => object> = {
  'auth-service': readAuthConfig,
  'settings-service': readSettingsConfig,
  'realtime-service': readRealtimeConfig,
};

function replica(name: string) {
  const r = replicas.find((x) => x.name === name);
  if (!r) throw new Error(`no replica ${name}`);
  return r;
}

describe('local stack plan (proxy/stack)', () => {
  it('runs two replicas of each service on the ports of DESIGN.md section 2', () => {
    expect(replicas.map((r) => [r.name, r.port, r.metricsPort, r.internalPort])).toEqual([
      ['auth-service-1', 4101, 9101, 4111],
      ['auth-service-2', 4102, 9102, 4112],
      ['realtime-service-1', 4301, 9301, undefined],
      ['realtime-service-2', 4302, 9302, undefined],
      ['settings-service-1', 4201, 9201, undefined],
      ['settings-service-2', 4202, 9202, undefined],
    ]);
  });

  it.each(replicas.map((r) => r.name))(
    '%s: the environment parses with its service’s own config, and every variable is one it knows',
    (name) => {
      const r = replica(name);
      const env = replicaEnv(r, services, SHARED);
      const config = READ_CONFIG[r.service.name]!(env) as Record<string, unknown>;

      expect(unknownEnvNames(env, config)).toEqual([]);
      expect([config.PORT, config.METRICS_PORT, config.REPLICA_ID]).toEqual([r.port, r.metricsPort, name]);
    },
  );

  it.each(['settings-service-1', 'realtime-service-2'])(
    '%s: fetches the JWKS from an auth replica’s internal listener, not from an API port',
    (name) => {
      const url = new URL(replicaEnv(replica(name), services, SHARED).JWKS_URL ?? '');
      const auth = replicas.filter((r) => r.service.name === 'auth-service');

      expect(url.pathname).toBe('/.well-known/jwks.json');
      expect(auth.map((r) => r.internalPort)).toContain(Number(url.port));
      expect(auth.map((r) => r.port)).not.toContain(Number(url.port));
    },
  );

  it('turns the bench namespace on for settings-service only', () => {
    const bench = replicas.map((r) => [r.name, replicaEnv(r, services, SHARED).SETTINGS_BENCH_NAMESPACE]);

    expect(bench.filter(([, v]) => v !== undefined)).toEqual([
      ['settings-service-1', 'true'],
      ['settings-service-2', 'true'],
    ]);
  });

  it('trusts X-Forwarded-* only from the gateway’s source address', () => {
    const trusted = new Set(replicas.map((r) => replicaEnv(r, services, SHARED).TRUSTED_PROXIES));

    expect([...trusted]).toEqual(['127.0.0.2/32']);
  });

  it('uses every port once across all replicas and listeners', () => {
    const ports = replicaPortClaims(replicas).map((c) => c.port);

    expect(ports).toHaveLength(14);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('placed on a host of its own, binds that address, trusts that gateway and fetches that JWKS', () => {
    const placement = {
      host: '10.231.0.12',
      trustedProxies: '10.231.0.2/32',
      jwksUrl: 'http://10.231.0.12:4112/.well-known/jwks.json',
    };
    const env = replicaEnv(replica('settings-service-2'), services, SHARED, placement);
    const config = readSettingsConfig(env) as Record<string, unknown>;

    expect([env.HOST, env.TRUSTED_PROXIES, env.JWKS_URL]).toEqual([
      '10.231.0.12',
      '10.231.0.2/32',
      'http://10.231.0.12:4112/.well-known/jwks.json',
    ]);
    expect(config.HOST).toBe('10.231.0.12');
  });

  it('puts replicas placed on other hosts behind their hosts’ addresses', () => {
    const hostOf = (r: { name: string }) => (r.name.endsWith('-1') ? '10.231.0.11' : '10.231.0.12');

    expect(gatewayUpstreams(replicas, hostOf).settings).toEqual(['10.231.0.11:4201', '10.231.0.12:4202']);
  });

  it('puts every replica behind its service’s upstream', () => {
    expect(gatewayUpstreams(replicas)).toEqual({
      auth: ['127.0.0.1:4101', '127.0.0.1:4102'],
      realtime: ['127.0.0.1:4301', '127.0.0.1:4302'],
      settings: ['127.0.0.1:4201', '127.0.0.1:4202'],
    });
  });
});

describe('secrets in the local stack', () => {
  const parent = {
    PATH: '/usr/bin',
    LOGIN_FAILURES_PER_ADDRESS: '500',
    REFRESH_TOKEN_SECRET: 'r'.repeat(64),
    JWT_KEYS_FILE: '/home/dev/keys.json',
  };

  it('when the runner’s environment holds auth’s secrets, no settings or realtime replica receives them', () => {
    const leaked = replicas
      .filter((r) => r.service.name !== 'auth-service')
      .map((r) => childEnvironment(parent, r, services, SHARED))
      .flatMap((env) => ['REFRESH_TOKEN_SECRET', 'JWT_KEYS_FILE'].filter((k) => env[k] !== undefined));

    expect(leaked).toEqual([]);
  });

  it('gives auth-service the generated secret and key file, not the runner’s copies', () => {
    const env = childEnvironment(parent, replica('auth-service-1'), services, SHARED);

    expect([env.REFRESH_TOKEN_SECRET, env.JWT_KEYS_FILE]).toEqual([
      's'.repeat(43),
      '/run/keys/jwt-keys.json',
    ]);
  });

  it('passes the rest of the runner’s environment through, so a developer can tune a service', () => {
    const env = childEnvironment(parent, replica('auth-service-2'), services, SHARED);

    expect([env.PATH, env.LOGIN_FAILURES_PER_ADDRESS]).toEqual(['/usr/bin', '500']);
  });
});
