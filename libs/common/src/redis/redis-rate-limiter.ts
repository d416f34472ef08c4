import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** The answer to one hit. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Hits left in the current window after this one (0 once refused). */
  remaining: number;
  /** Seconds until the window resets; when refused, how long the caller must wait. */
  retryAfterSeconds: number;
}

/** A fixed-window counter per key, shared by every replica through Redis. */
export interface RateLimiter {
  /** Counts one hit against `key`. Rejects when Redis fails: a limit that cannot count does not allow. */
  consume(key: string): Promise<RateLimitDecision>;
}

/** Options of {@link createRedisRateLimiter}. */
export interface RedisRateLimiterOptions {
  redis: Redis | Cluster;
  /** Prefix of every counter's key, `REDIS_PREFIX` included (e.g. `concord:refresh`). */
  keyPrefix: string;
  /** Hits allowed per window. */
  points: number;
  durationSeconds: number;
}

/**
 * A Redis fixed-window limiter over rate-limiter-flexible (STYLE.md: a well-kept library for
 * counters and limits), e.g. auth's `/refresh` limit per client address. One key per counter, so it
 * works unchanged on Redis Cluster. A new policy (the live `rate_limit_*` settings) is a new
 * instance over the same `keyPrefix`: the counts of the current window carry over.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    keyPrefix: options.keyPrefix,
    points: options.points,
    duration: options.durationSeconds,
  });
  return {
    async consume(key) {
      try {
        const res = await limiter.consume(key);
        return { allowed: true, remaining: res.remainingPoints, retryAfterSeconds: res.msBeforeNext / 1000 };
      } catch (err) {
        // The library rejects with a RateLimiterRes when the limit is reached, and with the Redis
        // error itself otherwise; only the first is an answer (the other becomes a 503 upstream).
        if (err instanceof RateLimiterRes) {
          return { allowed: false, remaining: 0, retryAfterSeconds: err.msBeforeNext / 1000 };
        }
        throw err;
      }
    },
  };
}
