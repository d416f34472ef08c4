import type { Pool } from 'pg';
import { CACHE_HEALTH_STATES, createRevocationCache, type RevocationCache } from '../auth/revocation-cache';
import { revocationKeys, type RevocationEntry } from '../auth/revocation-protocol';
import { createRedisRevocationStore } from '../auth/revocation-store';
import { createTokenVerifier, type TokenVerifier } from '../auth/token-verifier';
import type { VerificationKeys } from '../auth/verification-keys';
import type { Logger } from '../logging/logger';
import type { Clock } from '../ops/clock';
import type { TlsFiles } from '../ops/http-server';
import { createMetrics, type Metrics } from '../ops/metrics';
import { createPgPool } from '../pg/pg-pool';
import { createRedisClients, type RedisClients } from '../redis/redis-clients';
import { redisTarget } from '../redis/redis-connection';
import type { ServiceConfig, ServiceFeatures } from './service-context';
import type { ShutdownSteps } from './shutdown-steps';

/** Every Concord token is signed by auth-service with Ed25519 (docs/decisions/004-signing-keys.md). */
const ACCESS_TOKEN_ALGORITHMS = ['EdDSA'];

/** The clients the bootstrap owns: built before the service's wiring, closed after its stop hooks. */
export interface ServiceClients {
  pool?: Pool;
  redis: RedisClients;
  metrics: Metrics;
  revocations: RevocationCache;
}

/** Direct TLS on the service's listeners (DESIGN.md section 7), when both files are set. */
export function tlsFiles(config: ServiceConfig): TlsFiles | undefined {
  return config.TLS_CERT_FILE && config.TLS_KEY_FILE
    ? { cert: config.TLS_CERT_FILE, key: config.TLS_KEY_FILE, ca: config.TLS_CA_FILE }
    : undefined;
}

/** Token verifiers with the process's issuer, audience, algorithm, clock tolerance and lifetime bound. */
export function tokenVerifierFactory(config: ServiceConfig, clock: Clock) {
  return (keys: VerificationKeys): TokenVerifier =>
    createTokenVerifier({
      keys,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      algorithms: ACCESS_TOKEN_ALGORITHMS,
      clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
      maxLifetimeSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
      clock,
    });
}

/** The gauges every service reports about its revocation cache (DESIGN.md section 8). */
function revocationMetrics(metrics: Metrics, cache: RevocationCache): void {
  metrics.gauge('concord_revoked_sessions', 'Revoked sessions held in memory', () => cache.size());
  metrics.stateGauge(
    'concord_revocation_health',
    'Revocation cache state: 1 for the current reason (ok, or why it answers 503)',
    'reason',
    CACHE_HEALTH_STATES,
    () => cache.health(),
  );
}

/**
 * Builds the Postgres pool (when the service asked for one), the Redis clients, the metrics
 * registry and the revocation cache (not started), registering each one's release on `owned`.
 */
export async function openServiceClients(
  config: ServiceConfig,
  features: ServiceFeatures,
  deps: {
    name: string;
    logger: Logger;
    clock: Clock;
    owned: ShutdownSteps;
    onRevoked: (entries: RevocationEntry[]) => void;
  },
): Promise<ServiceClients> {
  const { logger, owned } = deps;
  // The settings follower reads Postgres too (no service calls settings-service).
  const pool =
    features.database || features.settings
      ? createPgPool(config.DATABASE_URL, logger, features.database ?? {})
      : undefined;
  if (pool) owned.add('close the Postgres pool', () => pool.end());
  const redis = await createRedisClients(redisTarget(config), logger, config.REPLICA_ID);
  owned.add('close Redis', () => redis.close());
  const metrics = createMetrics(deps.name, config.REPLICA_ID);
  const revocations = createRevocationCache({
    store: createRedisRevocationStore(redis, revocationKeys(config.REDIS_PREFIX), logger),
    replicaId: config.REPLICA_ID,
    leaseMs: config.REVOCATION_LEASE_MS,
    skewMs: config.REVOCATION_CLOCK_SKEW_MS,
    tokenToleranceMs: config.JWT_CLOCK_TOLERANCE_SECONDS * 1000,
    clock: deps.clock,
    logger,
    onRevoked: deps.onRevoked,
  });
  owned.add('stop the revocation cache', () => revocations.stop());
  revocationMetrics(metrics, revocations);
  return { pool, redis, metrics, revocations };
}
