import {
  apiAuthPolicy,
  createOutboxRelay,
  createRedisRateLimiter,
  revocationKeys,
  runService,
  startService,
  type RunningService,
  type ServiceContext,
  type ServiceParts,
  type ServiceSettings,
  type StartOptions,
} from '@concord/common';
import { createPrismaClient } from '@concord/db';
import type { Pool } from 'pg';
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
export interface RunningAuthService extends RunningService {
  /** The internal listener: JWKS and health for sibling services ({@link createInternalApp}). */
  internalPort: number;
}

/**
 * auth-service's wiring, called by the shared bootstrap with the clients it built: the key ring,
 * repositories, the revocation publisher and its outbox relay, the domain services, the public and
 * internal apps, and the session cleanup job.
 */
async function wire(
  ctx: ServiceContext<Config> & { pool: Pool; settings: ServiceSettings },
): Promise<ServiceParts> {
  const { config, clock, logger, pool, redis, metrics } = ctx;
  // jwt_expiry_minutes and min_password_length, live: the next token and the next password set.
  const live = apiAuthPolicy(ctx.settings.follower);
  const ring = await loadKeyRing(config.JWT_KEYS_FILE, { logger });
  ctx.onStop('close the key ring', () => ring.close());
  const sessionRepo = createSessionRepository(pool);
  // Prisma Client shares the pool: admin CRUD through the model of record's client, hot paths on pg.
  const prisma = createPrismaClient(pool);
  ctx.onStop('disconnect Prisma', () => prisma.$disconnect());
  const userRepo = { ...createUserRepository(pool), ...createUserAdminRepository(prisma) };
  const credentials = createCredentialRepository(pool);

  const publisher = createRedisRevocationPublisher({
    clients: redis,
    keys: revocationKeys(config.REDIS_PREFIX),
    leaseMs: config.REVOCATION_LEASE_MS,
    skewMs: config.REVOCATION_CLOCK_SKEW_MS,
    retainAfterExpMs: config.JWT_CLOCK_TOLERANCE_SECONDS * 1000 + config.REVOCATION_CLOCK_SKEW_MS,
    clock,
    logger,
    loadRevoked: (min) => sessionRepo.revokedSince(min),
  });
  // Before the bootstrap starts the revocation cache: the publisher seeds the snapshot it loads.
  await ctx.background('the revocation publisher', {
    start: () => publisher.start(),
    async stop() {
      publisher.stop();
      await publisher
        .deregister(config.REPLICA_ID)
        .catch((err: unknown) => logger.warn({ err }, 'deregister failed'));
    },
  });
  // Delivers committed revocations whose own publish failed (DESIGN.md "A committed revoke always
  // arrives"); every auth replica runs one, so a replica that dies after its commit loses nothing.
  const relay = createOutboxRelay({
    pool,
    logger,
    handlers: { [REVOCATION_TOPIC]: revocationOutboxHandler(publisher) },
    ...revocationRelayTiming(config.REVOCATION_LEASE_MS),
  });
  await ctx.background('the revocation outbox relay', relay);

  // auth-service verifies against its own published keys; JWKS_URL is for the other services.
  const verifier = ctx.createTokenVerifier(ring);
  const authenticator = ctx.createAuthenticator(verifier);
  const policy = {
    accessTtlSeconds: live.accessTtlSeconds,
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
  const { minPasswordLength } = live;
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

  ctx.every('session cleanup', config.SESSION_CLEANUP_INTERVAL_SECONDS * 1000, async () => {
    const before = new Date(clock.now() - config.SESSION_RETENTION_SECONDS * 1000);
    const deleted = await sessionRepo.purge(
      before,
      config.SESSION_IDLE_TIMEOUT_SECONDS,
      new Date(clock.now()),
    );
    if (deleted > 0) logger.info({ deleted }, 'purged old sessions');
    await userRepo.forgetAddressesBefore(new Date(clock.now() - KNOWN_ADDRESS_DAYS * 86_400_000));
    await publisher.prune();
  });

  const jwks = () => ring.publicJwks();
  return {
    app: createApp({
      http: ctx.http,
      auth,
      sessions,
      users,
      authenticator,
      jwks,
      idleTimeoutSeconds: config.SESSION_IDLE_TIMEOUT_SECONDS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
    }),
    listeners: [
      {
        // Closed after the API: siblings may still need the keys to verify tokens issued until now.
        name: 'internal',
        app: createInternalApp({ http: ctx.http, jwks }),
        port: config.INTERNAL_PORT,
        // Same server certificate, but no client certificate required (TLS_CA_FILE is for the
        // gateway's mTLS): siblings fetch public keys here, TLS only keeps them from being tampered with.
        clientCertificates: false,
      },
    ],
  };
}

/**
 * Starts auth-service on the shared bootstrap (libs/common `startService`) with this file's
 * wiring. Exported so in-process integration tests can start a real instance on port 0.
 */
export async function startAuthService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningAuthService> {
  const running = await startService(
    config,
    { name: 'auth-service', features: { database: {}, settings: {} }, build: wire },
    options,
  );
  return Object.assign(running, { internalPort: running.ports.internal! });
}

if (require.main === module) {
  void runService({
    name: 'auth-service',
    readConfig: () => readConfig(process.env),
    start: startAuthService,
  });
}
