import {
  runService,
  startService,
  benchSettings,
  redisTarget,
  type Authenticator,
  type RunningService,
  type ServiceContext,
  type ServiceParts,
  type ServiceSettings,
  type StartOptions,
} from '@concord/common';
import { createApp } from './app';
import { readConfig, type Config } from './config';
import { watchPresenceRecovery } from './data-access/presence-recovery';
import { createRedisPresenceStore } from './data-access/presence.store';
import { createPresenceTracker } from './domain/presence-tracker';
import { createUuidV7 } from './domain/uuid-v7';
import { createRealtimeServer } from './ws/realtime-server';
import { createSocketAdapter } from './ws/socket-adapter';

/** A running realtime-service node. */
export type RunningRealtimeService = RunningService;

/**
 * realtime-service's wiring, called by the shared bootstrap with the clients it built: presence,
 * the Socket.IO server on the bootstrap's public server, the Concord events consumer, and a drain
 * that moves the sockets to other nodes.
 */
async function wire(
  ctx: ServiceContext<Config> & { authenticator: Authenticator; settings: ServiceSettings },
): Promise<ServiceParts> {
  const { config, clock, logger, redis, metrics, authenticator } = ctx;
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
  // Stopped by the drain's deregistration; a stop hook covers a start that fails later.
  await ctx.background('presence', { start: () => presence.start(), stop: () => presence.stop() });
  watchPresenceRecovery(redis.commands, presence, logger);

  const denials = metrics.counter('concord_realtime_denials_total', 'Refused subscriptions and refreshes', [
    'reason',
  ]);
  const floods = metrics.counter('concord_realtime_floods_total', 'Sockets cut for event floods', []);
  const adapter = await createSocketAdapter({
    mode: config.SOCKETIO_ADAPTER,
    redis: redisTarget(config),
    prefix: config.REDIS_PREFIX,
    name: config.REPLICA_ID,
    logger,
  });
  ctx.onStop('close the Socket.IO adapter', () => adapter.close());
  const rt = createRealtimeServer({
    httpServer: ctx.server,
    adapter: adapter.adapter,
    authenticator,
    resolveClientIp: ctx.resolveClientIp,
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
    replicaHeader: ctx.http.exposeReplicaHeader ? ctx.http.replicaId : undefined,
    clock,
    logger,
    onDenied: (reason) => denials.inc({ reason }),
    onFlood: () => floods.inc(),
  });
  await presenceStore.onTransition((transition) => rt.emitPresence(transition));
  // The shared follower dedupes per key and re-reads Postgres on every resubscribe, so each socket
  // subscribed to `settings` on this node gets each committed change once, missed ones included.
  ctx.settings.follower.onEvent((event) => rt.emitSettingsChanged(event));

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

  const newId = createUuidV7({ now: () => clock.now() });
  return {
    // Socket.IO wraps the bootstrap's one request handler, so Express never answers its path
    // (libs/common start-service.ts).
    app: createApp({
      http: ctx.http,
      authenticator,
      publish: (room, message) => rt.publish(room, message),
      newId,
      now: () => clock.now(),
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
    }),
    // DESIGN.md section 6: each socket's transport is closed (not `disconnect()`, which tells
    // socket.io-client not to reconnect), so clients move to another node by themselves.
    async drain() {
      rt.drain();
      // Entries stay while the clients reconnect elsewhere, then go in one step: users who came
      // back elsewhere never show a leave, the others leave once.
      await new Promise((resolve) => setTimeout(resolve, config.REALTIME_DRAIN_MS));
      await presence
        .deregister()
        .catch((err: unknown) => logger.warn({ err }, 'presence deregistration failed'));
      await rt.close();
    },
    // Also after every snapshot load: a revocation may arrive by a load rather than by message.
    onRevoked: (entries) => rt.cutSessions(entries.map((e) => e.sid)),
    describe: { adapter: config.SOCKETIO_ADAPTER },
  };
}

/**
 * Starts a realtime-service node on the shared bootstrap (libs/common `startService`). Exported so
 * in-process integration tests can start real nodes on port 0.
 */
export function startRealtimeService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningRealtimeService> {
  return startService(
    config,
    {
      name: 'realtime-service',
      // `bench` too: its changes are re-broadcast to `settings` subscribers like any other.
      features: { remoteJwks: true, settings: { namespaces: [benchSettings()] } },
      build: wire,
    },
    options,
  );
}

if (require.main === module) {
  void runService({
    name: 'realtime-service',
    readConfig: () => readConfig(process.env),
    start: startRealtimeService,
  });
}
