// proxy/stack.js, checked offline: the environment it gives each replica keeps the contract that
// compose and k8s keep (docs/configuration.md), above all that verifiers fetch the JWKS from auth's
// internal listener, never from an API port (DESIGN.md section 4).
import { jwksUrlOf, replicaEnv, SERVICES, stackReplicas } from '../../proxy/stack';
import { readConfig } from '../../services/auth-service/src/config';

/** A sibling entry as the stack will list it once settings-service exists. */
const SETTINGS = {
  service: 'settings-service',
  upstream: 'settings' as const,
  ports: [
    { http: 4201, metrics: 9201 },
    { http: 4202, metrics: 9202 },
  ],
};

const SHARED = {
  ctx: { jwtKeysFile: '/run/keys/jwt-keys.json', refreshTokenSecret: 's'.repeat(43) },
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/concord',
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'concord:',
  publicUrl: 'https://localhost:8443',
  logLevel: 'info',
};

const replicas = stackReplicas([...SERVICES, SETTINGS]);
const jwksUrl = jwksUrlOf(replicas);
const envOf = (name: string) => {
  const r = replicas.find((x) => x.name === name);
  if (!r) throw new Error(`no replica ${name}`);
  return replicaEnv(r, { ...SHARED, jwksUrl });
};

describe('local stack (proxy/stack.js)', () => {
  it('gives a sibling service a JWKS_URL on an auth replica’s internal listener, not on an API port', () => {
    const url = new URL(envOf('settings-service-1').JWKS_URL ?? '');
    const auth = replicas.filter((r) => r.entry.upstream === 'auth');

    expect(url.pathname).toBe('/.well-known/jwks.json');
    expect(auth.map((r) => r.internalPort)).toContain(Number(url.port));
    expect(auth.map((r) => r.port)).not.toContain(Number(url.port));
  });

  it.each(['auth-service-1', 'auth-service-2'])(
    '%s: the environment parses with auth-service’s config, with an INTERNAL_PORT of its own',
    (name) => {
      const config = readConfig(envOf(name));

      expect([config.PORT, config.INTERNAL_PORT, config.METRICS_PORT]).toEqual(
        name === 'auth-service-1' ? [4101, 4111, 9101] : [4102, 4112, 9102],
      );
    },
  );

  it('uses every port once across all replicas and listeners', () => {
    const ports = replicas.flatMap((r) => [
      r.port,
      r.metricsPort,
      ...(r.internalPort ? [r.internalPort] : []),
    ]);

    expect(new Set(ports).size).toBe(ports.length);
  });

  it('refuses an auth entry whose replicas have no internal port', () => {
    const [auth] = SERVICES;
    const broken = { ...auth!, ports: [{ http: 4101, metrics: 9101 }] };

    expect(() => stackReplicas([broken])).toThrow(/internal port/);
  });
});
