import {
  closeGracefully,
  ConfigError,
  createAuthenticator,
  createClientIpResolver,
  createLogger,
  createMetrics,
  createMetricsServer,
  createOutboxRelay,
  createPgPool,
  createRedisClients,
  createRedisRateLimiter,
  createRedisRevocationStore,
  createRevocationCache,
  createServer,
  createTokenVerifier,
  exposureWarning,
  flushLogger,
  listen,
  revocationKeys,
  systemClock,
  CACHE_HEALTH_STATES,
  type Clock,
  type Logger,
} from '@concord/common';
import { createPrismaClient } from '@concord/db';
import { readConfig, type Config } from './config';
import { createApp } from './app';
import { createInternalApp } from './internal-app';
import { createAccessTokenIssuer } from './data-access/access-token-issuer';
import { loadKeyRing } from './data-access/key-ring';
import { createCredentialRepository } from './data-access/credential.repository';
import { createLoginThrottle } from './data-access/login-throttle.store';
import {
  createRevocationOutbox,
  REVOCATION_TOPIC,
  revocationOutboxHandler,
  revocationRelayTiming,
} from './data-access/revocation-outbox';
import { createRedisRevocationPublisher } from './data-access/revocation-publisher';
import { createSessionRepository } from './data-access/session.repository';
import { createUserAdminRepository } from './data-access/user-admin.repository';
import { createUserRepository } from './data-access/user.repository';
import { createArgon2Hasher } from './domain/argon2-password-hasher';
import { createAuthService } from './domain/auth.service';
import { KNOWN_ADDRESS_DAYS } from './domain/credential-check';
import { createSessionRevoker } from './domain/session-revoker';
import { createSessionService } from './domain/session.service';
import { createUserService } from './domain/user.service';

/** A running auth-service process. */
export interface RunningAuthService {
  port: number;
  metricsPort: number;
  /** The internal listener: JWKS and health for sibling services ({@link createInternalApp}). */
  internalPort: number;
  logger: Logger;
  /** SIGTERM behaviour: readiness false, stop accepting, drain, close clients. */
  shutdown(): Promise<void>;
}

/**
 * The composition root: builds every client from `config`, wires the app and listens. Exported so
 * in-process integration tests can start a real instance on port 0; the process entry point is
 * {@link main}.
 */
export async function startAuthService(
  config: Config,
  clock: Clock = systemClock,
): Promise<RunningAuthService> {
  const logger = createLogger({
    level: config.LOG_LEVEL,
    service: 'auth-service',
    replicaId: config.REPLICA_ID,
  });
  const warning = exposureWarning(config);
  if (warning) logger.warn(warning);

  const pool = createPgPool(config.DATABASE_URL, logger);
  const redis = await createRedisClients(config.REDIS_URL, logger, config.REPLICA_ID);
  const ring = await loadKeyRing(config.JWT_KEYS_FILE, { logger });
  const keys = revocationKeys(config.REDIS_PREFIX);
  const toleranceMs = config.JWT_CLOCK_TOLERANCE_SECONDS * 1000;
  const sessionRepo = createSessionRepository(pool);
  // Prisma Client shares the pool: admin CRUD through the model of record's client, hot paths on pg.
  const prisma = createPrismaClient(pool);
  const userRepo = { ...createUserRepository(pool), ...createUserAdminRepository(prisma) };
  const credentials = createCredentialRepository(pool);
  const metrics = createMetrics('auth-service', config.REPLICA_ID);

  const publisher = createRedisRevocationPublisher({
    clients: redis,
    keys,
    leaseMs: config.REVOCATION_LEASE_MS,
    skewMs: config.REVOCATION_CLOCK_SKEW_MS,
    retainAfterExpMs: toleranceMs + config.REVOCATION_CLOCK_SKEW_MS,
    clock,
    logger,
    loadRevoked: (min) => sessionRepo.revokedSince(min),
  });
  const cache = createRevocationCache({
    store: createRedisRevocationStore(redis, keys, logger),
    replicaId: config.REPLICA_ID,
    leaseMs: config.REVOCATION_LEASE_MS,
    skewMs: config.REVOCATION_CLOCK_SKEW_MS,
    tokenToleranceMs: toleranceMs,
    clock,
    logger,
  });
  // Delivers committed revocations whose own publish failed (DESIGN.md "A committed revoke always
  // arrives"); every auth replica runs one, so a replica that dies after its commit loses nothing.
  const relay = createOutboxRelay({
    pool,
    logger,
    handlers: { [REVOCATION_TOPIC]: revocationOutboxHandler(publisher) },
    ...revocationRelayTiming(config.REVOCATION_LEASE_MS),
  });
  await publisher.start();
  await cache.start();
  relay.start();

  const verifierOptions = {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: ['EdDSA'],
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    maxLifetimeSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
    clock,
  };
  // auth-service verifies against its own published keys; JWKS_URL is for the other services.
  const verifier = createTokenVerifier({
    ...verifierOptions,
    keys: ring,
  });
  const authenticator = createAuthenticator(verifier, cache);
  const policy = {
    accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    idleTimeoutSeconds: config.SESSION_IDLE_TIMEOUT_SECONDS,
    absoluteLifetimeSeconds: config.SESSION_ABSOLUTE_LIFETIME_SECONDS,
    refreshGraceSeconds: config.REFRESH_GRACE_SECONDS,
  };
  const hasher = await createArgon2Hasher({
    memoryCost: config.ARGON2_MEMORY_KIB,
    timeCost: config.ARGON2_TIME_COST,
    parallelism: config.ARGON2_PARALLELISM,
  });
  const revoker = createSessionRevoker({
    sessions: sessionRepo,
    publisher,
    outbox: createRevocationOutbox(pool, relay),
    clock,
    logger,
  });
  const minPasswordLength = () => config.MIN_PASSWORD_LENGTH;
  const throttleRejections = metrics.counter(
    'concord_login_throttle_rejections_total',
    'Login and password-change attempts refused before the password was verified, by budget',
    ['budget'],
  );
  const auth = createAuthService({
    users: userRepo,
    sessions: sessionRepo,
    credentials,
    hasher,
    issuer: createAccessTokenIssuer({
      ring,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      maxTtlSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
    }),
    revoker,
    throttle: createLoginThrottle({
      redis: redis.commands,
      prefix: config.REDIS_PREFIX,
      policy: {
        perAccountAddress: config.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS,
        perAddress: config.LOGIN_FAILURES_PER_ADDRESS,
        perAccount: config.LOGIN_FAILURES_PER_ACCOUNT,
        windowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
        baseDelayMs: config.LOGIN_BASE_DELAY_MS,
        maxDelayMs: config.LOGIN_MAX_DELAY_MS,
      },
      clock,
      onRejected: (r) => {
        throttleRejections.inc({ budget: r.budget });
        // A security event (DESIGN.md section 8); never the password.
        logger.warn(
          {
            event: 'login_throttled',
            budget: r.budget,
            username: r.username,
            address: r.address,
            retry_after_ms: r.retryAfterMs,
          },
          'login attempt throttled',
        );
      },
    }),
    refreshLimiter: createRedisRateLimiter({
      redis: redis.commands,
      keyPrefix: `${config.REDIS_PREFIX}refresh`,
      points: config.REFRESH_RATE_LIMIT_PER_MINUTE,
      durationSeconds: 60,
    }),
    policy,
    refreshSecret: config.REFRESH_TOKEN_SECRET,
    minPasswordLength,
    clock,
    logger,
    verifyAccessToken: (token) => verifier.verify(token),
  });
  const sessions = createSessionService({ sessions: sessionRepo, credentials, revoker, policy, clock });
  const users = createUserService({
    users: userRepo,
    credentials,
    hasher,
    revoker,
    policy,
    minPasswordLength,
    clock,
  });

  metrics.gauge('concord_revoked_sessions', 'Revoked sessions held in memory', () => cache.size());
  metrics.stateGauge(
    'concord_revocation_health',
    'Revocation cache state: 1 for the current reason (ok, or why it answers 503)',
    'reason',
    CACHE_HEALTH_STATES,
    () => cache.health(),
  );
  metrics.gauge(
    'concord_outbox_lag_seconds',
    'Age of the oldest undelivered revocation in the outbox',
    () => relay.backlog(REVOCATION_TOPIC).oldestAgeMs / 1000,
  );
  metrics.gauge(
    'concord_revocations_pending',
    'Committed revocations not yet delivered to Redis (outbox rows)',
    () => relay.backlog(REVOCATION_TOPIC).pending,
  );
  metrics.gauge(
    'concord_revocations_awaiting_acks',
    'Revokes of this replica waiting for acknowledgements or the lease',
    () => publisher.awaitingAcks(),
  );
  let draining = false;
  const readiness = [
    () => (draining ? 'draining' : undefined),
    () => (cache.isLoaded() ? undefined : 'revocation snapshot not loaded'),
  ];
  const http = {
    resolveClientIp: createClientIpResolver(config.TRUSTED_PROXIES),
    logger,
    metrics,
    readiness,
    replicaId: config.REPLICA_ID,
    exposeReplicaHeader: config.EXPOSE_REPLICA_HEADER,
    slowRequestMs: config.SLOW_REQUEST_MS,
    middleware: [],
  };
  const app = createApp({
    http,
    auth,
    sessions,
    users,
    authenticator,
    jwks: () => ring.publicJwks(),
    idleTimeoutSeconds: config.SESSION_IDLE_TIMEOUT_SECONDS,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
  });

  const tls =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? { cert: config.TLS_CERT_FILE, key: config.TLS_KEY_FILE, ca: config.TLS_CA_FILE }
      : undefined;
  const server = createServer(app, tls);
  const internalApp = createInternalApp({ http, jwks: () => ring.publicJwks() });
  // Same server certificate, but no client certificate required (TLS_CA_FILE is for the gateway's
  // mTLS): siblings fetch public keys here, TLS only has to keep them from being tampered with.
  const internalServer = createServer(internalApp, tls && { cert: tls.cert, key: tls.key });
  const metricsServer = createMetricsServer(metrics.registry);
  const port = await listen(server, config.PORT, config.HOST);
  const internalPort = await listen(internalServer, config.INTERNAL_PORT, config.HOST);
  const metricsPort = await listen(metricsServer, config.METRICS_PORT, config.HOST);

  const cleanup = setInterval(() => {
    const before = new Date(clock.now() - config.SESSION_RETENTION_SECONDS * 1000);
    sessionRepo
      .purge(before, config.SESSION_IDLE_TIMEOUT_SECONDS, new Date(clock.now()))
      .then((n) => (n > 0 ? logger.info({ deleted: n }, 'purged old sessions') : undefined))
      .then(() => userRepo.forgetAddressesBefore(new Date(clock.now() - KNOWN_ADDRESS_DAYS * 86_400_000)))
      .then(() => publisher.prune())
      .catch((err: unknown) => logger.warn({ err }, 'session cleanup failed'));
  }, config.SESSION_CLEANUP_INTERVAL_SECONDS * 1000);
  cleanup.unref();
  logger.info({ port, internalPort, metricsPort }, 'auth-service listening');

  return {
    port,
    metricsPort,
    internalPort,
    logger,
    async shutdown() {
      draining = true;
      clearInterval(cleanup);
      await closeGracefully(server, config.SHUTDOWN_GRACE_MS);
      // After the API: siblings may still need the keys to verify tokens issued until now.
      await closeGracefully(internalServer, 1_000);
      await closeGracefully(metricsServer, 1_000);
      cache.stop();
      await relay.stop();
      publisher.stop();
      await publisher
        .deregister(config.REPLICA_ID)
        .catch((err: unknown) => logger.warn({ err }, 'deregister failed'));
      ring.close();
      await redis.close();
      await prisma.$disconnect();
      await pool.end();
      logger.info('auth-service stopped');
      await flushLogger(logger);
    },
  };
}

/** Process entry point: config errors and SIGTERM handled here only. */
export async function main(): Promise<void> {
  let config: Config;
  try {
    config = readConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const running = await startAuthService(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down');
    running.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `auth-service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
