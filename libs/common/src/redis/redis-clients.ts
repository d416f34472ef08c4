import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';

/** A process's two Redis connections: one for commands, one in subscriber mode. */
export interface RedisClients {
  commands: Redis;
  subscriber: Redis;
  /** Registers the handler of one channel on the shared subscriber connection (and subscribes). */
  onChannel(channel: string, handler: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds both connections. Commands fail fast while Redis is away (one retry, short connect timeout)
 * so that requests turn into 503 problems instead of hanging; the connections keep reconnecting in
 * the background.
 */
export async function createRedisClients(url: string, logger: Logger, name: string): Promise<RedisClients> {
  const options = {
    connectionName: name,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    lazyConnect: true,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1_000),
  };
  const commands = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, maxRetriesPerRequest: null });
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
  await Promise.all([commands.connect(), subscriber.connect()]);
  return {
    commands,
    subscriber,
    async onChannel(channel, handler) {
      handlers.set(channel, handler);
      await subscriber.subscribe(channel);
    },
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
