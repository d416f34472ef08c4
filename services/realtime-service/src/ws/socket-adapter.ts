import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '@concord/common';
import { Redis } from 'ioredis';

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
  redisUrl: string;
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
  const redisOptions = {
    connectionName: `${options.name}:adapter`,
    maxRetriesPerRequest: null,
    connectTimeout: 2_000,
    lazyConnect: true,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1_000),
  };
  const pub = new Redis(options.redisUrl, redisOptions);
  const sub = new Redis(options.redisUrl, redisOptions);
  for (const [role, client] of [
    ['adapter-pub', pub],
    ['adapter-sub', sub],
  ] as const) {
    client.on('error', (err: Error) =>
      options.logger.warn({ err: err.message, role }, 'redis connection error'),
    );
  }
  await Promise.all([pub.connect(), sub.connect()]);
  const key = `${options.prefix}socket.io`;
  const adapter =
    options.mode === 'sharded'
      ? createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: 'dynamic' })
      : createAdapter(pub, sub, { key });
  return {
    adapter: adapter as ReturnType<typeof createAdapter>,
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
