// @ts-check
'use strict';
// What the local stack runs, derived from the service list (proxy/service-list): one row per replica
// on DESIGN.md section 2's ports, and the environment each replica gets. Pure, so tests check it
// without starting anything.

const { jwksProvider } = require('../service-list/service-list');

/** nginx connects to the services from this address; they trust nothing else (docs/decisions/003). */
const PROXY_ADDRESS = '127.0.0.2';

/**
 * @typedef {import('../service-list/service-list').ServiceDefinition} ServiceDefinition
 *
 * @typedef {object} StackReplica
 * @property {ServiceDefinition} service
 * @property {string} name e.g. `auth-service-1` (also its REPLICA_ID)
 * @property {number} port
 * @property {number} metricsPort
 * @property {number} [internalPort]
 *
 * @typedef {object} StackSecrets values the runner generated once in .run/
 * @property {string} jwtKeysFile the JWKS provider's signing-key file
 * @property {Record<string, string>} secrets by env name (`REFRESH_TOKEN_SECRET`)
 *
 * @typedef {object} SharedEnv values every replica of the stack gets
 * @property {StackSecrets} generated
 * @property {string} databaseUrl
 * @property {string} redisUrl
 * @property {string} redisPrefix
 * @property {string} publicUrl the gateway's URL, which is also the token issuer
 * @property {string} logLevel
 *
 * @typedef {object} ReplicaPlacement where a replica runs: the local stack's loopback by default, or
 *   a host of its own (the several-hosts rehearsal, test/rehearsal/hosts)
 * @property {string} host the address it binds (HOST)
 * @property {string} trustedProxies TRUSTED_PROXIES: the gateway's source address
 * @property {string} jwksUrl a verifier's JWKS_URL (an internal listener of the JWKS provider)
 */

/**
 * One row per replica: replica n of a service listens on its base ports + n - 1.
 * @param {readonly ServiceDefinition[]} services
 * @returns {StackReplica[]}
 */
function stackReplicas(services) {
  return services.flatMap((service) =>
    Array.from({ length: service.replicas }, (_, i) => ({
      service,
      name: `${service.name}-${i + 1}`,
      port: service.ports.http + i,
      metricsPort: service.ports.metrics + i,
      ...(service.ports.internal === undefined ? {} : { internalPort: service.ports.internal + i }),
    })),
  );
}

/**
 * The verifiers' JWKS_URL: the first replica of the JWKS provider, on its internal listener, which
 * serves only the JWKS and health and never reads X-Forwarded-* (DESIGN.md section 4) — never an API port.
 * @param {readonly ServiceDefinition[]} services
 * @returns {string}
 */
function jwksUrl(services) {
  return `http://127.0.0.1:${jwksProvider(services).ports.internal}/.well-known/jwks.json`;
}

/**
 * The local stack's placement: everything on loopback, nginx connecting from PROXY_ADDRESS.
 * @param {readonly ServiceDefinition[]} services
 * @returns {ReplicaPlacement}
 */
function loopbackPlacement(services) {
  return { host: '127.0.0.1', trustedProxies: `${PROXY_ADDRESS}/32`, jwksUrl: jwksUrl(services) };
}

/**
 * The variables the stack sets for one replica.
 * @param {StackReplica} r
 * @param {readonly ServiceDefinition[]} services
 * @param {SharedEnv} shared
 * @param {ReplicaPlacement} [placement] default: loopback (the local stack)
 * @returns {Record<string, string>}
 */
function replicaEnv(r, services, shared, placement = loopbackPlacement(services)) {
  const s = r.service;
  /** @type {Record<string, string>} */
  const own = {};
  for (const name of s.secrets) {
    const value = shared.generated.secrets[name];
    if (value === undefined) throw new Error(`no generated value for ${s.name}'s secret ${name}`);
    own[name] = value;
  }
  return {
    ...s.env,
    ...s.localEnv,
    HOST: placement.host,
    PORT: String(r.port),
    METRICS_PORT: String(r.metricsPort),
    ...(r.internalPort === undefined ? {} : { INTERNAL_PORT: String(r.internalPort) }),
    REPLICA_ID: r.name,
    DATABASE_URL: shared.databaseUrl,
    REDIS_URL: shared.redisUrl,
    REDIS_PREFIX: shared.redisPrefix,
    TRUSTED_PROXIES: placement.trustedProxies,
    JWT_ISSUER: shared.publicUrl,
    JWT_AUDIENCE: 'concord',
    ...(s.jwks === 'consumer' ? { JWKS_URL: placement.jwksUrl } : {}),
    ...(s.jwks === 'provider' ? { JWT_KEYS_FILE: shared.generated.jwtKeysFile } : {}),
    EXPOSE_REPLICA_HEADER: 'true',
    LOG_LEVEL: shared.logLevel,
    ...own,
  };
}

/**
 * The whole environment of one replica: the runner's own (so `LOGIN_FAILURES_PER_ADDRESS=500 npm
 * start` tunes the stack), then what the stack sets. The secret names of the list, and the provider's
 * key file, are dropped from the inherited part: a value exported in the developer's shell must reach
 * only the service that owns it, as in compose and k8s.
 * @param {NodeJS.ProcessEnv} parent
 * @param {StackReplica} r
 * @param {readonly ServiceDefinition[]} services
 * @param {SharedEnv} shared
 * @returns {NodeJS.ProcessEnv}
 */
function childEnvironment(parent, r, services, shared) {
  const owned = new Set([...services.flatMap((s) => s.secrets), 'JWT_KEYS_FILE']);
  const inherited = Object.fromEntries(Object.entries(parent).filter(([k]) => !owned.has(k)));
  return { ...inherited, ...replicaEnv(r, services, shared) };
}

/**
 * Every loopback port the stack's replicas listen on, for the busy-port check.
 * @param {readonly StackReplica[]} replicas
 * @returns {Array<{ host: string, port: number, what: string }>}
 */
function replicaPortClaims(replicas) {
  return replicas.flatMap((r) => [
    { host: '127.0.0.1', port: r.port, what: `${r.name} http` },
    { host: '127.0.0.1', port: r.metricsPort, what: `${r.name} metrics` },
    ...(r.internalPort === undefined
      ? []
      : [{ host: '127.0.0.1', port: r.internalPort, what: `${r.name} internal` }]),
  ]);
}

/**
 * The gateway's upstreams: every replica's http address, by upstream name.
 * @param {readonly StackReplica[]} replicas
 * @param {(r: StackReplica) => string} [hostOf] the address a replica binds (default loopback)
 * @returns {Record<string, string[]>}
 */
function gatewayUpstreams(replicas, hostOf = () => '127.0.0.1') {
  /** @type {Record<string, string[]>} */
  const upstreams = {};
  for (const r of replicas) (upstreams[r.service.upstream] ??= []).push(`${hostOf(r)}:${r.port}`);
  return upstreams;
}

/**
 * The file in .run/keys/ that keeps a generated secret, e.g. `refresh-token-secret`.
 * @param {string} name env name
 */
function secretFileName(name) {
  return name.toLowerCase().replace(/_/g, '-');
}

module.exports = {
  PROXY_ADDRESS,
  stackReplicas,
  jwksUrl,
  replicaEnv,
  childEnvironment,
  replicaPortClaims,
  gatewayUpstreams,
  secretFileName,
};
