import { randomUUID } from 'node:crypto';
import type { Clock, RedisClient } from '@concord/common';
import type { LoginAttempt, LoginThrottle, ThrottleBudget, ThrottleRejection } from '../domain/auth.ports';

/** Policy of {@link createLoginThrottle} (config: LOGIN_FAILURES_*, LOGIN_*_DELAY_MS, window). */
export interface ThrottlePolicy {
  /** Free failures per (username, address) bucket. */
  perAccountAddress: number;
  /** Free failures per address bucket, over every username. */
  perAddress: number;
  /** Free failures per username from addresses that are not known for it. */
  perAccount: number;
  /** A budget forgets its failures this long after the newest one. */
  windowSeconds: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Dependencies of {@link createLoginThrottle}. */
export interface LoginThrottleDeps {
  redis: RedisClient;
  prefix: string;
  policy: ThrottlePolicy;
  clock: Clock;
  /** Called for every refused attempt (metrics and the security log). */
  onRejected?: (rejection: ThrottleRejection & LoginAttempt) => void;
}

// Every budget is a sorted set of attempts (member: the attempt id, score: its time in ms). An
// attempt is admitted only if, in every budget that applies, fewer than `free` attempts are held, or
// the newest one is at least min(base * 2^(held - free), max) ms old; then it is added to all of
// them in the same step. Check and reserve are one script, so parallel attempts on any number of
// replicas serialise here and can never exceed a budget (the check-then-act race of issue 6). The
// reservation stays as the failure record unless a verified success releases it. A budget whose
// newest attempt is older than the window starts afresh. Members beyond free + 32 are trimmed
// oldest first: past that many the delay is at its maximum anyway (max/base < 2^32).
// ARGV: now, attempt id, window ms, base ms, max ms, then one free allowance per key.
const RESERVE = `
local now, member = tonumber(ARGV[1]), ARGV[2]
local window, base, max = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local wait, worst = 0, 0
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[5 + i])
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  local held = 0
  if newest[2] then
    if now - tonumber(newest[2]) >= window then redis.call('DEL', key) else held = redis.call('ZCARD', key) end
  end
  if held >= free then
    local left = tonumber(newest[2]) + math.min(base * 2 ^ (held - free), max) - now
    if left > wait then wait, worst = left, i end
  end
end
if worst > 0 then return {0, math.ceil(wait), worst} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(ARGV[5 + i]) + 33))
end
return {1}`;

// A verified success gives its slot back in every budget and clears that username at that address
// (KEYS[1]): a user who mistyped and then got it right starts afresh there, and an office behind one
// address is never throttled by its own successful logins.
const RELEASE = `
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1`;

/**
 * The three failed-login budgets of DESIGN.md section 4 in Redis (docs/decisions/007). Every key
 * carries the one hash tag `{login}`, so the multi-key scripts also run on Redis Cluster (all
 * throttle state then lives on one shard). Unknown usernames get exactly the same keys and answers.
 */
export function createLoginThrottle(deps: LoginThrottleDeps): LoginThrottle {
  const { redis, policy, clock } = deps;
  const base = `${deps.prefix}{login}:`;
  // Usernames at login are any string up to 256 characters: encoded so that no name can spell
  // another key.
  const user = (username: string) => encodeURIComponent(username);
  const keys = (a: LoginAttempt) => ({
    accountAddress: `${base}ua:${user(a.username)}:${a.address}`,
    address: `${base}a:${a.address}`,
    account: `${base}u:${user(a.username)}`,
  });
  // The per-account budget counts only addresses that are not known for the username.
  const budgets = (a: LoginAttempt) => {
    const k = keys(a);
    const list: { key: string; free: number; budget: ThrottleBudget }[] = [
      { key: k.accountAddress, free: policy.perAccountAddress, budget: 'account_address' },
      { key: k.address, free: policy.perAddress, budget: 'address' },
    ];
    if (!a.knownAddress) list.push({ key: k.account, free: policy.perAccount, budget: 'account' });
    return list;
  };

  return {
    async reserve(attempt) {
      const list = budgets(attempt);
      const id = randomUUID();
      const reply = (await redis.eval(
        RESERVE,
        list.length,
        ...list.map((b) => b.key),
        String(clock.now()),
        id,
        String(policy.windowSeconds * 1000),
        String(policy.baseDelayMs),
        String(policy.maxDelayMs),
        ...list.map((b) => String(b.free)),
      )) as number[];
      if (reply[0] === 1) return { admitted: true, reservation: { id, attempt } };
      const rejection: ThrottleRejection = {
        retryAfterMs: Number(reply[1]),
        budget: list[Number(reply[2]) - 1]!.budget,
      };
      deps.onRejected?.({ ...rejection, ...attempt });
      return { admitted: false, ...rejection };
    },

    async release(reservation) {
      const list = budgets(reservation.attempt);
      await redis.eval(RELEASE, list.length, ...list.map((b) => b.key), reservation.id);
    },
  };
}
