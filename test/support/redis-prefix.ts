import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A key and channel prefix no other test run uses. */
export function uniqueRedisPrefix(): string {
  return `concord_test_${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (the shared Redis outlives the test). */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
