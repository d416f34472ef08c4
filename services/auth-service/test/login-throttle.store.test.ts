import { systemClock } from '@concord/common';
import { Redis } from 'ioredis';
import { createLoginThrottle } from '../src/data-access/login-throttle.store';
import type { LoginAttempt } from '../src/domain/auth.ports';
import { dropRedisPrefix, testRedisPrefix } from './support/auth-harness';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = testRedisPrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await dropRedisPrefix(REDIS_URL, prefix);
});

function throttle(free: { perAccountAddress: number; perAddress: number; perAccount: number }) {
  return createLoginThrottle({
    redis,
    prefix,
    policy: { ...free, windowSeconds: 900, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    clock: systemClock,
  });
}

/** Redis Cluster's hash tag of a key: the first non-empty `{…}`, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('login throttle store (real Redis)', () => {
  it('when 100 reservations race for one account and address, admits exactly the free allowance', async () => {
    const store = throttle({ perAccountAddress: 7, perAddress: 1000, perAccount: 1000 });
    const attempt: LoginAttempt = { username: 'racer', address: '198.51.100.1', knownAddress: false };

    const verdicts = await Promise.all(Array.from({ length: 100 }, () => store.reserve(attempt)));

    expect(verdicts.filter((v) => v.admitted)).toHaveLength(7);
  });

  it('when a reservation is released, its slot is free again', async () => {
    const store = throttle({ perAccountAddress: 1000, perAddress: 2, perAccount: 1000 });
    const first = await store.reserve({ username: 'a', address: '198.51.100.2', knownAddress: false });
    await store.reserve({ username: 'b', address: '198.51.100.2', knownAddress: false });
    const full = await store.reserve({ username: 'c', address: '198.51.100.2', knownAddress: false });

    if (!first.admitted) throw new Error('the first reservation must be admitted');
    await store.release(first.reservation);
    const again = await store.reserve({ username: 'c', address: '198.51.100.2', knownAddress: false });

    expect(full).toMatchObject({ admitted: false, budget: 'address' });
    expect(again.admitted).toBe(true);
  });

  it('when the address is known for the username, the per-account budget is neither checked nor used', async () => {
    const store = throttle({ perAccountAddress: 1000, perAddress: 1000, perAccount: 1 });
    await store.reserve({ username: 'roamer', address: '198.51.100.3', knownAddress: false });

    const unknown = await store.reserve({ username: 'roamer', address: '198.51.100.4', knownAddress: false });
    const known = await store.reserve({ username: 'roamer', address: '198.51.100.5', knownAddress: true });

    expect(unknown).toMatchObject({ admitted: false, budget: 'account' });
    expect(known.admitted).toBe(true);
  });

  it('keeps every key under one hash tag, so the scripts run on Redis Cluster', async () => {
    const store = throttle({ perAccountAddress: 5, perAddress: 5, perAccount: 5 });
    await store.reserve({ username: 'tag{ged}', address: '2001:db8::/64', knownAddress: false });

    const keys = await redis.keys(`${prefix}*`);

    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(new Set(keys.map(hashTag))).toEqual(new Set(['login']));
  });
});
