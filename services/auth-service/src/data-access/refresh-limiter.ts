import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiter } from '../domain/auth.ports';

/**
 * The `/refresh` limit per client address bucket: a plain fixed-window counter, so the well-kept
 * library does it (STYLE.md). The login throttle needs reservations and releases and has its own
 * script (login-throttle.store.ts).
 */
export function createRefreshLimiter(deps: { redis: Redis; prefix: string; perMinute: number }): RateLimiter {
  const limiter = new RateLimiterRedis({
    storeClient: deps.redis,
    keyPrefix: `${deps.prefix}refresh`,
    points: deps.perMinute,
    duration: 60,
  });
  return {
    async hit(key) {
      try {
        await limiter.consume(key);
        return 0;
      } catch (err) {
        // The library rejects with a RateLimiterRes when the limit is reached, and with the Redis
        // error itself otherwise; only the first is an answer.
        if (err instanceof RateLimiterRes) return err.msBeforeNext / 1000;
        throw err;
      }
    },
  };
}
