import {
  closeGracefully,
  ConfigError,
  createAuthenticator,
  createClientIpResolver,
  createLogger,
  createMetrics,
  createMetricsServer,
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
import { eventsChannel, subscribeConcordEvents } from './data-access/concord-events.consumer';
import { createRedisPresenceStore } from './data-access/presence.store';
import { createPresenceTracker } from './domain/presence-tracker';
import { createUuidV7 } from './domain/uuid-v7';
import { createRealtimeServer, type RealtimeServer } from './ws/realtime-server';
import { createSocketAdapter } from './ws/socket-adapter';

/** A running realtime-service node. */
export interface RunningRealtimeService {
  port: number;
  metricsPort: number;
  logger: Logger;
  /** SIGTERM behaviour: readiness false, stop accepting, move sockets away, clean presence, close. */
  shutdown(): Promise<void>;
}

/**
 * The composition root: builds every client from `config`, wires HTTP and Socket.IO and listens.
 * Exported so in-process integration tests can start real nodes on port 0.
 */
export async function startRealtimeService(
  config: Config,
  options: { clock?: Clock; logDestination?: DestinationStream } = {},
): Promise<RunningRealtimeService> {
  const clock = options.clock ?? systemClock;
  const logger = createLogger({
    level: config.LOG_LEVEL,
    service: 'realtime-service',
    replicaId: config.REPLICA_ID,
    destination: options.logDestination,
  });
  const warning = exposureWarning(config);
  if (warning) logger.warn(warning);

  const redis = await createRedisClients(config.REDIS_URL, logger, config.REPLICA_ID);
  // Bound once the Socket.IO server exists; the first snapshot load happens before any socket can.
  const bound: { realtime?: RealtimeServer } = {};
  const cache = createRevocationCache({
    store: createRedisRevocationStore(redis, revocationKeys(config.REDIS_PREFIX), logger),
    replicaId: config.REPLICA_ID,
    leaseMs: config.REVOCATION_LEASE_MS,
    skewMs: config.REVOCATION_CLOCK_SKEW_MS,
    tokenToleranceMs: config.JWT_CLOCK_TOLERANCE_SECONDS * 1000,
    clock,
    logger,
    onRevoked: (entries) => bound.realtime?.cutSessions(entries.map((e) => e.sid)),
  });
  await cache.start();
  const verifier = createTokenVerifier({
    keys: createRemoteKeySet(config.JWKS_URL!),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: ['EdDSA'],
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    maxLifetimeSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
    clock,
  });
  const authenticator = createAuthenticator(verifier, cache);
  const resolveClientIp = createClientIpResolver(config.TRUSTED_PROXIES);

  const presenceStore = createRedisPresenceStore({
    clients: redis,
    prefix: config.REDIS_PREFIX,
    nodeId: config.REPLICA_ID,
    nodeTtlMs: config.PRESENCE_NODE_TTL_MS,
    logger,
  });
  const presence = createPresenceTracker({
    store: presenceStore,
    maxSocketsPerUser: config.REALTIME_MAX_SOCKETS_PER_USER,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    sweepMs: config.PRESENCE_SWEEP_MS,
    onError: (err, step) => logger.warn({ err, step }, 'presence maintenance failed'),
  });
  await presence.start();
  // After a Redis restart the heartbeat finds our registration gone and re-asserts every socket;
  // running it on reconnect makes presence whole again without waiting for the next interval.
  redis.commands.on('ready', () => {
    presence.heartbeat().catch((err: unknown) => logger.warn({ err }, 'presence re-assert failed'));
  });

  const metrics = createMetrics('realtime-service', config.REPLICA_ID);
  const denials = metrics.counter('concord_realtime_denials_total', 'Refused subscriptions and refreshes', [
    'reason',
  ]);
  const floods = metrics.counter('concord_realtime_floods_total', 'Sockets cut for event floods', []);
  let draining = false;
  const newId = createUuidV7({ now: () => clock.now() });
  const adapter = await createSocketAdapter({
    mode: config.SOCKETIO_ADAPTER,
    redisUrl: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    name: config.REPLICA_ID,
    logger,
  });
  const app = createApp({
    http: {
      resolveClientIp,
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
    authenticator,
    publish: (room, message) => bound.realtime?.publish(room, message),
    newId,
    now: () => clock.now(),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
  });
  const tls =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? { cert: config.TLS_CERT_FILE, key: config.TLS_KEY_FILE, ca: config.TLS_CA_FILE }
      : undefined;
  const server = createServer(app, tls);
  const rt = createRealtimeServer({
    httpServer: server,
    adapter: adapter.adapter,
    authenticator,
    resolveClientIp,
    presence,
    presenceStore,
    maxSocketsPerUser: config.REALTIME_MAX_SOCKETS_PER_USER,
    limits: {
      eventsPerSecond: config.REALTIME_EVENTS_PER_SECOND,
      burst: config.REALTIME_EVENT_BURST,
      floodDisconnectAfter: config.REALTIME_FLOOD_DISCONNECT_AFTER,
    },
    pingIntervalMs: config.SOCKETIO_PING_INTERVAL_MS,
    pingTimeoutMs: config.SOCKETIO_PING_TIMEOUT_MS,
    clock,
    logger,
    onDenied: (reason) => denials.inc({ reason }),
    onFlood: () => floods.inc(),
  });
  bound.realtime = rt;
  await presenceStore.onTransition((transition) => rt.emitPresence(transition));
  await subscribeConcordEvents({
    clients: redis,
    channel: eventsChannel(config.REDIS_PREFIX),
    logger,
    handlers: { settingsChanged: (event) => rt.emitSettingsChanged(event) },
  });

  let presenceUsers = 0;
  metrics.gauge('concord_realtime_sockets', 'Sockets connected to this node', () => rt.sockets());
  metrics.gauge('concord_realtime_subscriptions', 'Shared-channel subscriptions on this node', () =>
    rt.subscriptions(),
  );
  metrics.gauge('concord_realtime_presence_users', 'Users online in the cluster (last read)', () => {
    presenceStore.countUsers().then(
      (n) => (presenceUsers = n),
      (err: unknown) => logger.warn({ err }, 'presence count failed'),
    );
    return presenceUsers;
  });
  metrics.gauge('concord_revoked_sessions', 'Revoked sessions held in memory', () => cache.size());

  const metricsServer = createMetricsServer(metrics.registry);
  const port = await listen(server, config.PORT, config.HOST);
  const metricsPort = await listen(metricsServer, config.METRICS_PORT, config.HOST);
  logger.info({ port, metricsPort, adapter: config.SOCKETIO_ADAPTER }, 'realtime-service listening');

  return {
    port,
    metricsPort,
    logger,
    async shutdown() {
      draining = true;
      const httpClosed = closeGracefully(server, config.SHUTDOWN_GRACE_MS);
      rt.drain();
      // Entries stay while the clients reconnect elsewhere, then go in one step: users who came
      // back elsewhere never show a leave, the others leave once.
      await new Promise((r) => setTimeout(r, config.REALTIME_DRAIN_MS));
      await presence
        .deregister()
        .catch((err: unknown) => logger.warn({ err }, 'presence deregistration failed'));
      await rt.close();
      await httpClosed;
      await closeGracefully(metricsServer, 1_000);
      cache.stop();
      await adapter.close();
      await redis.close();
      logger.info('realtime-service stopped');
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
  const running = await startRealtimeService(config);
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
      `realtime-service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
