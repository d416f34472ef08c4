import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { isDependencyOutage } from '../src/errors/problem';
import { createRedisRateLimiter } from '../src/redis/redis-rate-limiter';
import { unreachableRedis } from './support/unreachable-redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(() => {
  redis.disconnect();
});

/** A limiter under a key prefix of this test's own; its keys expire with the window. */
function limiter(points: number, durationSeconds = 60) {
  return createRedisRateLimiter({
    redis,
    keyPrefix: `concord_test_${randomBytes(6).toString('hex')}:limit`,
    points,
    durationSeconds,
  });
}

describe('createRedisRateLimiter', () => {
  it('when a key spends its points, refuses the next hit with the wait until the window resets', async () => {
    const limit = limiter(3, 60);

    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limit.consume('203.0.113.7'));

    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(decisions[3]!.retryAfterSeconds).toBeGreaterThan(50);
    expect(decisions[3]!.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('when two keys are hit, counts each on its own', async () => {
    const limit = limiter(1);

    const first = await limit.consume('198.51.100.1');
    const other = await limit.consume('198.51.100.2');
    const again = await limit.consume('198.51.100.1');

    expect([first.allowed, other.allowed, again.allowed]).toEqual([true, true, false]);
  });

  it('when two replicas share Redis, one budget covers both', async () => {
    const keyPrefix = `concord_test_${randomBytes(6).toString('hex')}:limit`;
    const replicaA = createRedisRateLimiter({ redis, keyPrefix, points: 2, durationSeconds: 60 });
    const second = new Redis(REDIS_URL);
    try {
      const replicaB = createRedisRateLimiter({ redis: second, keyPrefix, points: 2, durationSeconds: 60 });

      const outcomes = [
        await replicaA.consume('k'),
        await replicaB.consume('k'),
        await replicaA.consume('k'),
      ].map((d) => d.allowed);

      expect(outcomes).toEqual([true, true, false]);
    } finally {
      second.disconnect();
    }
  });

  it('when Redis cannot be reached, rejects with an outage instead of allowing', async () => {
    const down = unreachableRedis();
    try {
      const limit = createRedisRateLimiter({
        redis: down,
        keyPrefix: 'unused:',
        points: 5,
        durationSeconds: 60,
      });

      const err = await limit.consume('k').then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(isDependencyOutage(err)).toBe(true);
    } finally {
      down.disconnect();
    }
  });
});
