import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors/app-error';
import type { Logger } from '../logging/logger';

/** The windows of `rate_limit_time_unit`. */
export type RateLimitUnit = 'second' | 'minute' | 'hour' | 'day';

/** The limit in force for the next request (`rate_limit_max_requests` per `rate_limit_time_unit`). */
export interface RateLimitPolicy {
  maxRequests: number;
  timeUnit: RateLimitUnit;
}

/** Options of {@link clientRateLimit}. */
export interface ClientRateLimitOptions {
  /** The command connection (every replica counts in the same Redis keys). */
  redis: Redis;
  /** E.g. `{REDIS_PREFIX}ratelimit:settings-service:`; the unit and the subject follow. */
  keyPrefix: string;
  /** Read on every request, so a live change applies to the next one (the settings follower). */
  policy: () => RateLimitPolicy;
  /** `rate_limit_exclude_paths`: exact request paths (no query) that are never counted. */
  excludePaths: readonly string[];
  logger: Logger;
  /** Called once per refused request (the throttle-rejections metric). */
  onRejected?: () => void;
}

const UNIT_SECONDS: Readonly<Record<RateLimitUnit, number>> = {
  second: 1,
  minute: 60,
  hour: 3_600,
  day: 86_400,
};

/**
 * The general per-client limit of authenticated API requests (DESIGN.md section 5,
 * `rate_limit_*`), keyed by the token's subject (docs/decisions/015-live-settings.md): a fixed window
 * per user in Redis, shared by every replica of the service. Counting and the verdict are one atomic
 * Redis step (rate-limiter-flexible's INCR+TTL script), so parallel requests can never pass beyond
 * the limit. Requests without `req.auth` pass uncounted: per-address limits are nginx's and the
 * login budgets'. Place it after the authenticator. A Redis failure is passed on (a 503 outage),
 * never waved through.
 */
export function clientRateLimit(options: ClientRateLimitOptions): RequestHandler {
  const excluded = new Set(options.excludePaths);
  let limiter: { policy: RateLimitPolicy; instance: RateLimiterRedis } | undefined;

  /** One limiter per policy. The unit is part of the key, so a window never outlives a unit change. */
  function limiterFor(policy: RateLimitPolicy): RateLimiterRedis {
    if (limiter?.policy.maxRequests === policy.maxRequests && limiter.policy.timeUnit === policy.timeUnit) {
      return limiter.instance;
    }
    // The same keys under a new maximum: what was counted in the current window still counts.
    const instance = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: `${options.keyPrefix}${policy.timeUnit}`,
      points: policy.maxRequests,
      duration: UNIT_SECONDS[policy.timeUnit],
    });
    limiter = { policy, instance };
    return instance;
  }

  function refuse(req: Request, policy: RateLimitPolicy, res: RateLimiterRes): AppError {
    options.onRejected?.();
    // Logged once per subject and window (the first refusal), not once per refused request.
    if (res.consumedPoints === policy.maxRequests + 1) {
      options.logger.info(
        {
          event: 'rate_limit.exceeded',
          sub: req.auth?.sub,
          limit: policy.maxRequests,
          unit: policy.timeUnit,
        },
        'client rate limit reached',
      );
    }
    const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return new AppError('RATE_LIMITED', `At most ${policy.maxRequests} requests per ${policy.timeUnit}`, {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }

  return (req: Request, _res: Response, next: NextFunction): void => {
    const sub = req.auth?.sub;
    if (sub === undefined || excluded.has(req.originalUrl.split('?')[0]!)) {
      next();
      return;
    }
    const policy = options.policy();
    limiterFor(policy)
      .consume(sub)
      .then(
        () => next(),
        (err: unknown) => {
          // The library rejects with a RateLimiterRes at the limit and with the Redis error otherwise.
          next(err instanceof RateLimiterRes ? refuse(req, policy, err) : err);
        },
      );
  };
}

/** `requireAuth` followed by the per-client limit, for routers that take one auth middleware. */
export function rateLimitedAuth(requireAuth: RequestHandler, limit: RequestHandler): RequestHandler {
  return (req, res, next) => {
    requireAuth(req, res, (err?: unknown) => {
      if (err !== undefined) next(err);
      else limit(req, res, next);
    });
  };
}
