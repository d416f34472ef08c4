import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import {
  createRedisConnection,
  isClusterTarget,
  type Logger,
  type RedisClient,
  type RedisTarget,
} from '@concord/common';
import { guardShardedSubscriptions } from './subscription-guard';

/** `SOCKETIO_ADAPTER` (DESIGN.md section 9). */
export type AdapterMode = 'classic' | 'sharded';

/** The adapter factory to hand to `io.adapter()`, and its two Redis connections. */
export interface SocketAdapter {
  adapter: ReturnType<typeof createAdapter>;
  close(): Promise<void>;
}

/** Options of {@link createSocketAdapter}. */
export interface SocketAdapterOptions {
  mode: AdapterMode;
  /** `REDIS_URL`, or the cluster of `REDIS_CLUSTER_NODES` (libs/common `redisTarget`). */
  redis: RedisTarget;
  /** `REDIS_PREFIX`: the adapter's channels carry it like every other name. */
  prefix: string;
  name: string;
  logger: Logger;
}

/**
 * The Socket.IO Redis adapter: `classic` (PUBLISH / PSUBSCRIBE on one channel family, every node
 * receives every broadcast) or `sharded` (Redis 7 SPUBLISH / SSUBSCRIBE on a channel per room, so a
 * node receives only the rooms it hosts; works on a single Redis 7 and on Redis Cluster).
 */
export async function createSocketAdapter(options: SocketAdapterOptions): Promise<SocketAdapter> {
  // No per-request retry limit: the adapter publishes without awaiting, so a command that failed
  // fast during a Redis blip would become an unhandled rejection; queued commands are sent on reconnect.
  const connection = {
    connectionName: `${options.name}:adapter`,
    maxRetriesPerRequest: null,
  };
  // On a cluster the sharded adapter's SSUBSCRIBEs go through ioredis's sharded subscribers (one
  // connection per shard that owns one of our rooms' slots, moved by ioredis on a failover); the
  // classic adapter's PSUBSCRIBE goes through the Cluster's own subscriber (any one node hears
  // every PUBLISH).
  const sharded = options.mode === 'sharded';
  const pub: RedisClient = createRedisConnection(options.redis, connection);
  const sub: RedisClient = createRedisConnection(options.redis, {
    ...connection,
    shardedSubscribers: sharded && isClusterTarget(options.redis),
  });
  for (const [role, client] of [
    ['adapter-pub', pub],
    ['adapter-sub', sub],
  ] as const) {
    client.on('error', (err: Error) =>
      options.logger.warn({ err: err.message, role }, 'redis connection error'),
    );
  }
  await Promise.all([pub.connect(), sub.connect()]);
  if (sharded) guardShardedSubscriptions(sub, options.logger);
  const key = `${options.prefix}socket.io`;
  const adapter = sharded
    ? createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: 'dynamic' })
    : createAdapter(pub, sub, { key });
  return {
    adapter: adapter as ReturnType<typeof createAdapter>,
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
