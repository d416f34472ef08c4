import type { Logger } from '@concord/common';

/** The two commands the sharded adapter sends without awaiting them. */
type ShardedSubscriptionCommands = Record<
  'ssubscribe' | 'sunsubscribe',
  (...args: never[]) => Promise<unknown>
>;

/**
 * @socket.io/redis-adapter 8.3's sharded adapter calls `ssubscribe` and `sunsubscribe` (on every
 * room created and deleted, and for all rooms at close) and drops the promises. Over Redis Cluster
 * they reject while a shard fails over (`Too many Cluster redirections`), and an unhandled rejection
 * stops a Node process. This makes both resolve after logging: ioredis's sharded subscribers
 * re-subscribe what they hold once the shard is back, and a room's own traffic resumes with it.
 */
export function guardShardedSubscriptions(client: ShardedSubscriptionCommands, logger: Logger): void {
  for (const command of ['ssubscribe', 'sunsubscribe'] as const) {
    const original = client[command].bind(client);
    client[command] = (...args: never[]) =>
      original(...args).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message, command }, 'sharded adapter subscription command failed');
        return undefined;
      });
  }
}
