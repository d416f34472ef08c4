import { Redis } from 'ioredis';

/**
 * A Redis client of port 1 on loopback, where nothing listens: every command fails at once with a
 * refused connection, never retried. Its connection errors are expected and ignored here; what a
 * test checks is how the code under test answers the failed command. Disconnect it afterwards.
 */
export function unreachableRedis(): Redis {
  const down = new Redis('redis://127.0.0.1:1', {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  down.on('error', () => undefined);
  return down;
}
