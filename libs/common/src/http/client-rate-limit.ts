import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Cluster, Redis } from 'ioredis';
import type { Authenticator } from '../auth/authenticator';
import { AppError } from '../errors/app-error';
import { isDependencyOutage } from '../errors/problem';
import { createLeasedRateLimiter, type LeasedRateLimiter } from '../redis/leased-rate-limiter';
import type { RateLimitDecision } from '../redis/redis-rate-limiter';

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
  redis: Redis | Cluster;
  /** E.g. `{REDIS_PREFIX}ratelimit:settings-service:`; the unit and the subject follow. */
  keyPrefix: string;
  /** Read on every request, so a live change applies to the next one (the settings follower). */
  policy: () => RateLimitPolicy;
  /** `rate_limit_exclude_paths`: exact request paths (no query) that are never counted. */
  excludePaths: readonly string[];
  /** Called once per refused request (the throttle-rejections metric). */
  onRejected?: () => void;
  /** Called when Redis could not count a request, which then passed uncounted. */
  onUnavailable?: (err: unknown) => void;
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
 * per user in Redis, shared by every replica of the service. Each replica takes its hits from the
 * shared window in leases (createLeasedRateLimiter, docs/decisions/024-leased-rate-limit.md): one
 * atomic Redis step grants a lease, the hits in it are counted without a round trip, and the leases
 * of a window never add up to more than the limit, so parallel requests can never pass beyond it.
 * Requests without `req.auth` pass uncounted: per-address limits are nginx's and the
 * login budgets'. Place it after the authenticator. While Redis is down or refuses writes the
 * request passes uncounted (see the handler); any other failure is passed on.
 */
export function clientRateLimit(options: ClientRateLimitOptions): RequestHandler {
  const excluded = new Set(options.excludePaths);
  let current: { policy: RateLimitPolicy; limiter: LeasedRateLimiter } | undefined;

  /**
   * One limiter per policy. A new maximum keeps the keys, so what was counted in the current window
   * still counts; the unit is part of the key, so a window never outlives a unit change.
   */
  function limiterFor(policy: RateLimitPolicy): LeasedRateLimiter {
    if (current?.policy.maxRequests === policy.maxRequests && current.policy.timeUnit === policy.timeUnit) {
      return current.limiter;
    }
    const limiter = createLeasedRateLimiter({
      redis: options.redis,
      keyPrefix: `${options.keyPrefix}${policy.timeUnit}`,
      points: policy.maxRequests,
      durationSeconds: UNIT_SECONDS[policy.timeUnit],
    });
    current = { policy, limiter };
    return limiter;
  }

  return (req: Request, _res: Response, next: NextFunction): void => {
    const sub = req.auth?.sub;
    if (sub === undefined || excluded.has(req.originalUrl.split('?')[0]!)) {
      next();
      return;
    }
    const policy = options.policy();
    const verdict = (decision: RateLimitDecision) => {
      if (decision.allowed) {
        next();
        return;
      }
      options.onRejected?.();
      // The refusal is logged by the request observer (a 429 with its code, DESIGN.md section 8).
      next(
        new AppError('RATE_LIMITED', `At most ${policy.maxRequests} requests per ${policy.timeUnit}`, {
          data: { retryAfterSeconds: decision.retryAfterSeconds },
        }),
      );
    };
    let decision: RateLimitDecision | Promise<RateLimitDecision>;
    try {
      decision = limiterFor(policy).consume(sub);
    } catch (err) {
      next(err);
      return;
    }
    // Within a lease the decision is there at once: no promise, no microtask on the hot path.
    if (!(decision instanceof Promise)) {
      verdict(decision);
      return;
    }
    decision.then(verdict, (err: unknown) => {
      if (!isDependencyOutage(err)) {
        next(err);
        return;
      }
      // Redis down or refusing writes: the request goes on uncounted (as Kong's fault_tolerant
      // and Envoy's failure_mode_deny=false default to). This limit is fairness, not security:
      // authentication and revocation stay fail-closed on their own, and a 503 here would keep
      // a logout or revoke from committing in Postgres (DESIGN.md: it answers 503 committed).
      options.onUnavailable?.(err);
      next();
    });
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

/** `authenticator` whose `requireAuth` also applies `limit`; `authenticate` (socket handshakes) is unchanged. */
export function withClientRateLimit(authenticator: Authenticator, limit: RequestHandler): Authenticator {
  const requireAuth = rateLimitedAuth(authenticator.requireAuth, limit);
  return { ...authenticator, requireAuth: (req, res, next) => requireAuth(req, res, next) };
}
