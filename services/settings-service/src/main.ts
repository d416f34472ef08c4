import {
  closeGracefully,
  ConfigError,
  createAuthenticator,
  createClientIpResolver,
  createLogger,
  createMetrics,
  createMetricsServer,
  createPgPool,
  createRedisClients,
  createRedisRevocationStore,
  createRemoteKeySet,
  createRevocationCache,
  createServer,
  createTokenVerifier,
  exposureWarning,
  flushLogger,
  listen,
  revocationKeys,
  systemClock,
  type Clock,
  type Logger,
} from '@concord/common';
import type { DestinationStream } from 'pino';
import { createApp } from './app';
import { readConfig, type Config } from './config';
import { createSettingsRepository } from './data-access/settings.repository';
import { apiSettings } from './domain/api.settings';
import { benchSettings } from './domain/bench.settings';
import { createSettingRegistry, RegistryError } from './domain/setting-registry';
import { createSettingsReader } from './domain/settings-reader';
import { createSettingsWriter } from './domain/settings-writer';

/** A running settings-service process. */
export interface RunningSettingsService {
  port: number;
  metricsPort: number;
  logger: Logger;
  /** SIGTERM behaviour: readiness false, stop accepting, drain, close clients. */
  shutdown(): Promise<void>;
}

/** Test hooks of {@link startSettingsService}. */
export interface StartOptions {
  clock?: Clock;
  /** Where log lines go (tests read them); stdout otherwise. */
  logDestination?: DestinationStream;
}

/**
 * The composition root: builds every client from `config`, wires the app and listens. Exported so
 * in-process integration tests can start real replicas on port 0. Settings-service verifies access
 * tokens against auth-service's JWKS and never signs any.
 */
export async function startSettingsService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningSettingsService> {
  const clock = options.clock ?? systemClock;
  // Before any client exists: a definition contradicting itself stops the process here.
  const registry = createSettingRegistry([
    apiSettings({ maxAccessTtlSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS }),
    ...(config.SETTINGS_BENCH_NAMESPACE ? [benchSettings()] : []),
  ]);
  const logger = createLogger({
    level: config.LOG_LEVEL,
    service: 'settings-service',
    replicaId: config.REPLICA_ID,
    destination: options.logDestination,
  });
  const warning = exposureWarning(config);
  if (warning) logger.warn(warning);

  const pool = createPgPool(config.DATABASE_URL, logger, {
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
  });
  const redis = await createRedisClients(config.REDIS_URL, logger, config.REPLICA_ID);
  const cache = createRevocationCache({
    store: createRedisRevocationStore(redis, revocationKeys(config.REDIS_PREFIX), logger),
    replicaId: config.REPLICA_ID,
    leaseMs: config.REVOCATION_LEASE_MS,
    skewMs: config.REVOCATION_CLOCK_SKEW_MS,
    tokenToleranceMs: config.JWT_CLOCK_TOLERANCE_SECONDS * 1000,
    clock,
    logger,
  });
  await cache.start();
  const verifier = createTokenVerifier({
    keys: createRemoteKeySet(config.JWKS_URL),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: ['EdDSA'],
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    maxLifetimeSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
    clock,
  });

  const context = {
    registry,
    // TODO(outbox merge): `events: 'outbox'` once migration 20261201000100_outbox (libs/common's
    // outbox module) is on this branch, plus its relay publishing to `{REDIS_PREFIX}events`.
    store: createSettingsRepository(pool, { events: 'none' }),
    envValues: config.SETTINGS_ENV,
  };
  const metrics = createMetrics('settings-service', config.REPLICA_ID);
  metrics.gauge('concord_revoked_sessions', 'Revoked sessions held in memory', () => cache.size());
  let draining = false;
  const app = createApp({
    http: {
      resolveClientIp: createClientIpResolver(config.TRUSTED_PROXIES),
      logger,
      metrics,
      readiness: [
        () => (draining ? 'draining' : undefined),
        () => (cache.isLoaded() ? undefined : 'revocation snapshot not loaded'),
      ],
      replicaId: config.REPLICA_ID,
      exposeReplicaHeader: config.EXPOSE_REPLICA_HEADER,
      slowRequestMs: config.SLOW_REQUEST_MS,
      middleware: [],
    },
    reader: createSettingsReader(context),
    writer: createSettingsWriter({ ...context, requireIfMatch: config.SETTINGS_REQUIRE_IF_MATCH }),
    authenticator: createAuthenticator(verifier, cache),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
  });

  const tls =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? { cert: config.TLS_CERT_FILE, key: config.TLS_KEY_FILE, ca: config.TLS_CA_FILE }
      : undefined;
  const server = createServer(app, tls);
  const metricsServer = createMetricsServer(metrics.registry);
  const port = await listen(server, config.PORT, config.HOST);
  const metricsPort = await listen(metricsServer, config.METRICS_PORT, config.HOST);
  logger.info({ port, metricsPort }, 'settings-service listening');

  return {
    port,
    metricsPort,
    logger,
    async shutdown() {
      draining = true;
      await closeGracefully(server, config.SHUTDOWN_GRACE_MS);
      await closeGracefully(metricsServer, 1_000);
      cache.stop();
      await redis.close();
      await pool.end();
      logger.info('settings-service stopped');
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
  let running: RunningSettingsService;
  try {
    running = await startSettingsService(config);
  } catch (err) {
    if (err instanceof RegistryError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
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
      `settings-service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
