import type { Redis } from 'ioredis';
import type { LoginThrottle, RateLimiter } from '../domain/auth.ports';

/** Policy of {@link createLoginThrottle}. */
export interface ThrottlePolicy {
  windowSeconds: number;
  freeFailuresPerUsername: number;
  freeFailuresPerIp: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

// Atomically counts a failure and remembers when it happened; the window restarts with each failure.
const RECORD_FAILURE = `
local n = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n`;

/**
 * Failed-login counters in Redis, keyed by case-folded username and by client IP, kept for unknown
 * usernames too so a 429 never reveals whether an account exists. After the free failures every
 * further one doubles the wait (capped): a growing delay, never a lockout an attacker could impose
 * for long on a real user.
 */
export function createLoginThrottle(
  redis: Redis,
  prefix: string,
  policy: ThrottlePolicy,
  now: () => number,
): LoginThrottle {
  const userKey = (u: string) => `${prefix}login:fail:user:${u}`;
  const ipKey = (ip: string) => `${prefix}login:fail:ip:${ip}`;

  function wait(state: [string | null, string | null], free: number): number {
    const count = Number(state[0] ?? 0);
    const last = Number(state[1] ?? 0);
    if (count < free) return 0;
    const delay = Math.min(policy.baseDelayMs * 2 ** (count - free), policy.maxDelayMs);
    return Math.max(0, last + delay - now()) / 1000;
  }

  return {
    async retryAfter(username, ip) {
      const [user, addr] = await Promise.all([
        redis.hmget(userKey(username), 'count', 'last'),
        redis.hmget(ipKey(ip), 'count', 'last'),
      ]);
      return Math.max(
        wait(user as [string | null, string | null], policy.freeFailuresPerUsername),
        wait(addr as [string | null, string | null], policy.freeFailuresPerIp),
      );
    },
    async recordFailure(username, ip) {
      const ttl = String(policy.windowSeconds * 1000);
      await Promise.all([
        redis.eval(RECORD_FAILURE, 1, userKey(username), String(now()), ttl),
        redis.eval(RECORD_FAILURE, 1, ipKey(ip), String(now()), ttl),
      ]);
    },
    async recordSuccess(username) {
      await redis.del(userKey(username));
    },
  };
}

/** Fixed-window counter per key (used for /refresh per client IP). */
export function createFixedWindowLimiter(
  redis: Redis,
  prefix: string,
  limit: number,
  windowSeconds: number,
): RateLimiter {
  return {
    async hit(key) {
      const name = `${prefix}ratelimit:${key}`;
      const [[, count], [, ttl]] = (await redis.multi().incr(name).ttl(name).exec()) as [
        [Error | null, number],
        [Error | null, number],
      ];
      if (ttl < 0) await redis.expire(name, windowSeconds);
      return count > limit ? Math.max(1, ttl) : 0;
    },
  };
}
