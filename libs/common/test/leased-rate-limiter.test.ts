import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { isDependencyOutage } from '../src/errors/problem';
import { createLeasedRateLimiter, type LeasedRateLimiter } from '../src/redis/leased-rate-limiter';
import { createRedisRateLimiter, type RateLimitDecision } from '../src/redis/redis-rate-limiter';
import { unreachableRedis } from './support/unreachable-redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const connections: Redis[] = [];
const prefixes: string[] = [];

function connection(): Redis {
  const r = new Redis(REDIS_URL);
  connections.push(r);
  return r;
}

function newPrefix(): string {
  const p = `concord_test_${randomBytes(6).toString('hex')}:limit`;
  prefixes.push(p);
  return p;
}

afterAll(async () => {
  const r = connection();
  for (const p of prefixes) {
    const keys = await r.keys(`${p}*`);
    if (keys.length > 0) await r.del(...keys);
  }
  connections.forEach((c) => c.disconnect());
});

/** `replicas` limiters sharing one budget, each on its own Redis connection, as replicas are. */
function replicas(count: number, points: number, durationSeconds = 60): LeasedRateLimiter[] {
  const keyPrefix = newPrefix();
  return Array.from({ length: count }, () =>
    createLeasedRateLimiter({ redis: connection(), keyPrefix, points, durationSeconds }),
  );
}

const settle = (d: RateLimitDecision | Promise<RateLimitDecision>) => Promise.resolve(d);

describe('createLeasedRateLimiter', () => {
  it('when 40 hits of one client arrive at once on two replicas against a limit of 10, exactly 10 pass', async () => {
    const [a, b] = replicas(2, 10);

    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => settle((i % 2 === 0 ? a! : b!).consume('user-1'))),
    );

    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });

  it('when 8000 hits arrive at once on two replicas against 6400, none passes beyond the limit and at most two leases are lost', async () => {
    const points = 6_400;
    const [a, b] = replicas(2, points);
    const maxLease = points / 64;

    const decisions = await Promise.all(
      Array.from({ length: 8_000 }, (_, i) => settle((i % 2 === 0 ? a! : b!).consume('user-1'))),
    );

    const allowed = decisions.filter((d) => d.allowed).length;
    expect(allowed).toBeLessThanOrEqual(points);
    expect(allowed).toBeGreaterThanOrEqual(points - 2 * maxLease);
  });

  it('when many hits arrive, asks Redis once per lease, not once per hit', async () => {
    const redis = connection();
    const limiter = createLeasedRateLimiter({
      redis,
      keyPrefix: newPrefix(),
      points: 10_000,
      durationSeconds: 60,
    });
    // Counts the script's calls on the real connection (the command defineCommand installed).
    const scripted = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const ask = scripted.concordLeaseHits!.bind(redis);
    let asked = 0;
    scripted.concordLeaseHits = (...args) => {
      asked += 1;
      return ask(...args);
    };

    let allowed = 0;
    for (let i = 0; i < 2_000; i++) if ((await settle(limiter.consume('user-1'))).allowed) allowed += 1;

    expect(allowed).toBe(2_000);
    // Leases of 1, 2, 4, … 128, then 156 (10000 / 64): 8 to reach the maximum, then 2000 / 156.
    expect(asked).toBeLessThan(25);
  });

  it('when the window is spent, refuses without asking Redis again, with the wait until it resets', async () => {
    const [limiter] = replicas(1, 3, 60);
    for (let i = 0; i < 3; i++) expect((await settle(limiter!.consume('user-1'))).allowed).toBe(true);

    expect((await settle(limiter!.consume('user-1'))).allowed).toBe(false);
    const again = limiter!.consume('user-1');

    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ allowed: false });
    expect((again as RateLimitDecision).retryAfterSeconds).toBeGreaterThan(50);
    expect((again as RateLimitDecision).retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('when the window ends, the client passes again', async () => {
    const [limiter] = replicas(1, 1, 1);
    expect((await settle(limiter!.consume('user-1'))).allowed).toBe(true);
    expect((await settle(limiter!.consume('user-1'))).allowed).toBe(false);

    await new Promise((resolve) => setTimeout(resolve, 1_100));

    expect((await settle(limiter!.consume('user-1'))).allowed).toBe(true);
  });

  it('counts each client on its own', async () => {
    const [limiter] = replicas(1, 1);

    const first = await settle(limiter!.consume('user-1'));
    const other = await settle(limiter!.consume('user-2'));
    const again = await settle(limiter!.consume('user-1'));

    expect([first.allowed, other.allowed, again.allowed]).toEqual([true, true, false]);
  });

  it('shares the window with a replica still counting hit by hit (rate-limiter-flexible, a rolling upgrade)', async () => {
    const keyPrefix = newPrefix();
    const redis = connection();
    const old = createRedisRateLimiter({ redis, keyPrefix, points: 5, durationSeconds: 60 });
    const leased = createLeasedRateLimiter({
      redis: connection(),
      keyPrefix,
      points: 5,
      durationSeconds: 60,
    });
    for (let i = 0; i < 3; i++) expect((await old.consume('user-1')).allowed).toBe(true);

    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await settle(leased.consume('user-1'))).allowed);

    expect(outcomes).toEqual([true, true, false]);
  });

  it('when Redis cannot be reached, rejects with an outage instead of allowing', async () => {
    const down = unreachableRedis();
    try {
      const limiter = createLeasedRateLimiter({
        redis: down,
        keyPrefix: 'unused',
        points: 5,
        durationSeconds: 60,
      });

      const err = await settle(limiter.consume('k')).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(isDependencyOutage(err)).toBe(true);
    } finally {
      down.disconnect();
    }
  });
});
