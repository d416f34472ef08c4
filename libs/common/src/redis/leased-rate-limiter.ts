import type { Cluster, Redis } from 'ioredis';
import type { RateLimitDecision, RedisRateLimiterOptions } from './redis-rate-limiter';

/** A fixed-window limiter whose replicas take hits from Redis in leases (see {@link createLeasedRateLimiter}). */
export interface LeasedRateLimiter {
  /**
   * Counts one hit against `key`: a decision right away when this replica's lease covers it (or
   * Redis already said the window is spent), otherwise a promise of one. The promise rejects when
   * Redis fails: a limit that cannot count does not allow.
   */
  consume(key: string): RateLimitDecision | Promise<RateLimitDecision>;
}

/** Options of {@link createLeasedRateLimiter}. */
export interface LeasedRateLimiterOptions extends RedisRateLimiterOptions {
  /** The largest lease one replica takes at once; default `max(1, floor(points / 64))`. */
  maxLease?: number;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

/**
 * Takes up to ARGV[3] hits of the window KEYS[1] (ARGV[1] hits per ARGV[2] ms) in one atomic step
 * and answers `{granted, pttl}`. The counter is the plain integer with a TTL that
 * rate-limiter-flexible keeps, so replicas of an older version count in the same key; unlike it,
 * a refusal is not counted (the window is spent either way). A key without TTL (never written
 * by this script) gets the window's.
 */
const LEASE_SCRIPT = `
local points = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('SET', KEYS[1], 0, 'PX', window, 'NX')
local used = tonumber(redis.call('GET', KEYS[1]))
local granted = math.min(tonumber(ARGV[3]), points - used)
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
else
  granted = 0
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {granted, ttl}
`;

type LeaseClient = (Redis | Cluster) & {
  concordLeaseHits?(key: string, points: number, windowMs: number, want: number): Promise<[number, number]>;
};

/** What this replica knows about one key's current window. */
interface KeyState {
  /** Local time the window ends (from Redis's PTTL, counted from when the lease was asked for). */
  endsAt: number;
  /** Leased hits not yet used. */
  left: number;
  /** Size of the next lease: doubles with every lease of the window, up to the maximum. */
  want: number;
  /** Redis said no hit is left in this window. */
  spent: boolean;
  /** The lease request in flight; concurrent hits wait for it instead of asking again. */
  pending?: Promise<void>;
}

/** How many hits between two sweeps of finished windows out of the key map. */
const SWEEP_EVERY = 4_096;

/**
 * A Redis fixed-window limiter (the same windows and keys as createRedisRateLimiter) that asks Redis
 * for hits in leases instead of one round trip per hit, like a quota server's grants: a replica
 * takes a lease of `n` hits from the shared counter in one atomic step and spends it locally, with
 * no await. The sum of all leases of a window never exceeds the limit, so no hit ever passes beyond
 * it, from any number of replicas and parallel requests. The price is the other way: hits leased
 * by one replica and not spent by the window's end are lost to the others, so a client spread over
 * replicas can be refused up to `replicas × maxLease` hits early (about 3% of the limit with two
 * replicas and the default maximum). Leases start at one hit per window and double with each
 * further lease, so a client that sends a few hits per window leases exactly what it spends and
 * only a busy one amortises; with the default maximum a limit below 128 per window is counted hit
 * by hit, exactly as before. A refusal is remembered until the window ends (a spent window cannot
 * come back), so a client hammering past its limit costs Redis nothing more.
 */
export function createLeasedRateLimiter(options: LeasedRateLimiterOptions): LeasedRateLimiter {
  const redis = options.redis as LeaseClient;
  if (!redis.concordLeaseHits)
    redis.defineCommand('concordLeaseHits', { numberOfKeys: 1, lua: LEASE_SCRIPT });
  const now = options.now ?? Date.now;
  const windowMs = options.durationSeconds * 1000;
  const maxLease = Math.max(1, options.maxLease ?? Math.floor(options.points / 64));
  const keys = new Map<string, KeyState>();
  let sinceSweep = 0;

  const retryAfter = (state: KeyState, at: number) => Math.max(0, state.endsAt - at) / 1000;

  function sweep(at: number): void {
    sinceSweep = 0;
    for (const [key, state] of keys) if (state.endsAt <= at && !state.pending) keys.delete(key);
  }

  /** Asks Redis for the next lease of `key`'s window; `state` is updated when it answers. */
  function lease(key: string, state: KeyState): Promise<void> {
    const askedAt = now();
    const pending = redis.concordLeaseHits!(
      `${options.keyPrefix}:${key}`,
      options.points,
      windowMs,
      state.want,
    )
      .then(([granted, ttl]) => {
        state.endsAt = askedAt + Number(ttl);
        state.left = Number(granted);
        state.spent = state.left === 0;
        state.want = Math.min(maxLease, state.want * 2);
      })
      .finally(() => {
        state.pending = undefined;
      });
    state.pending = pending;
    return pending;
  }

  function consume(key: string): RateLimitDecision | Promise<RateLimitDecision> {
    const at = now();
    if (++sinceSweep >= SWEEP_EVERY) sweep(at);
    let state = keys.get(key);
    if (state && state.endsAt <= at && !state.pending) state = undefined;
    if (!state) {
      state = { endsAt: 0, left: 0, want: 1, spent: false };
      keys.set(key, state);
    }
    if (state.pending) return state.pending.then(() => consume(key));
    if (state.left > 0) {
      state.left -= 1;
      return { allowed: true, remaining: state.left, retryAfterSeconds: retryAfter(state, at) };
    }
    if (state.spent && state.endsAt > at) {
      return { allowed: false, remaining: 0, retryAfterSeconds: retryAfter(state, at) };
    }
    return lease(key, state).then(() => consume(key));
  }

  return { consume };
}
