import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import {
  connectSubscriber,
  createRedisConnection,
  createSubscriberConnection,
  type RedisClient,
  type RedisTarget,
} from './redis-connection';

/** A process's two Redis connections: one for commands, one in subscriber mode. */
export interface RedisClients {
  /** A `Redis`, or a `Cluster` when `REDIS_CLUSTER_NODES` is set. */
  commands: RedisClient;
  /** Always one plain connection, also on a cluster (see createSubscriberConnection). */
  subscriber: Redis;
  /** Registers the handler of one channel on the shared subscriber connection (and subscribes). */
  onChannel(channel: string, handler: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds both connections, on a single Redis (a URL, or a target without cluster nodes) or on a
 * Redis Cluster (the one factory every service uses: redis-connection.ts). Commands fail fast while
 * Redis is away (one retry, short connect timeout) so that requests turn into 503 problems instead
 * of hanging; the connections keep reconnecting in the background.
 */
export async function createRedisClients(
  target: string | RedisTarget,
  logger: Logger,
  name: string,
): Promise<RedisClients> {
  const commands = createRedisConnection(target, { connectionName: name, maxRetriesPerRequest: 1 });
  const subscriber = createSubscriberConnection(target, name);
  for (const [role, client] of [
    ['commands', commands],
    ['subscriber', subscriber],
  ] as const) {
    client.on('error', (err: Error) => logger.warn({ err: err.message, role }, 'redis connection error'));
    client.on('reconnecting', () => logger.warn({ role }, 'redis reconnecting'));
  }
  const handlers = new Map<string, (message: string) => void>();
  subscriber.on('message', (channel: string, message: string) => {
    const handler = handlers.get(channel);
    if (handler) handler(message);
  });
  try {
    await Promise.all([commands.connect(), connectSubscriber(subscriber, target)]);
  } catch (err) {
    // Neither connection may outlive a failed start: each would keep reconnecting (and keep the
    // process alive) with nobody holding it to close it.
    commands.disconnect();
    subscriber.disconnect();
    throw err;
  }
  return {
    commands,
    subscriber,
    async onChannel(channel, handler) {
      handlers.set(channel, handler);
      await subscriber.subscribe(channel);
    },
    async close() {
      // QUIT lets queued commands finish; it fails on a connection that is down (a dead node being
      // reconnected), and then only disconnect() stops the reconnect and slot-refresh timers that
      // would otherwise keep the process alive. After a successful QUIT it is a no-op.
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
