import {
  createLogger,
  createRedisClients,
  createRedisRevocationStore,
  createRevocationCache,
  revocationKeys,
  systemClock,
  type RedisClients,
  type RevocationCache,
  type RevocationEntry,
  type RevocationKeys,
} from '@concord/common';
import { Redis } from 'ioredis';
import {
  createRedisRevocationPublisher,
  type RedisRevocationPublisher,
} from '../src/data-access/revocation-publisher';
import { dropRedisPrefix, testRedisPrefix } from './support/auth-harness';

const REDIS_URL = 'redis://127.0.0.1:6379';
const LEASE_MS = 800;
const SKEW_MS = 50;
const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'publisher-test' });

let prefix: string;
let keys: RevocationKeys;
let admin: Redis;
const closers: (() => Promise<unknown> | unknown)[] = [];

beforeEach(() => {
  prefix = testRedisPrefix();
  keys = revocationKeys(prefix);
  admin = new Redis(REDIS_URL);
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await dropRedisPrefix(REDIS_URL, prefix);
  admin.disconnect();
});

async function clients(name: string): Promise<RedisClients> {
  const c = await createRedisClients(REDIS_URL, logger, name);
  closers.push(() => c.close());
  return c;
}

async function publisher(
  loadRevoked: (min: Date) => Promise<RevocationEntry[]> = async () => [],
): Promise<RedisRevocationPublisher> {
  const p = createRedisRevocationPublisher({
    clients: await clients('auth-under-test'),
    keys,
    leaseMs: LEASE_MS,
    skewMs: SKEW_MS,
    retainAfterExpMs: 60_000,
    clock: systemClock,
    logger,
    loadRevoked,
  });
  closers.push(() => p.stop());
  return p;
}

/** A real replica: registers, subscribes, loads and acknowledges like any service process. */
async function replica(id: string): Promise<RevocationCache> {
  const cache = createRevocationCache({
    store: createRedisRevocationStore(await clients(id), keys, logger),
    replicaId: id,
    leaseMs: LEASE_MS,
    skewMs: SKEW_MS,
    clock: systemClock,
    logger,
  });
  await cache.start();
  closers.push(() => cache.stop());
  return cache;
}

function entry(sid: string): RevocationEntry {
  return { sid, exp: Math.floor(Date.now() / 1000) + 900 };
}

async function waitUntil(check: () => Promise<boolean>, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('revocation publisher', () => {
  it('while the registry is younger than a lease, a revoke waits out the lease although every replica acknowledged', async () => {
    const auth = await publisher();
    await auth.start();
    await replica('replica-young');

    const sent = await auth.send([entry('sid-young')]);
    const outcome = await sent.acknowledged;

    expect(outcome).toMatchObject({ by: 'lease', youngRegistry: true, missing: [] });
    expect(outcome.waitedMs).toBeGreaterThanOrEqual(LEASE_MS);
  });

  it('once the registry is older than a lease, answers as soon as every registered replica acknowledged', async () => {
    const auth = await publisher();
    await auth.start();
    await replica('replica-a');
    await replica('replica-b');
    await new Promise((r) => setTimeout(r, LEASE_MS + SKEW_MS + 100));

    const sent = await auth.send([entry('sid-old')]);
    const outcome = await sent.acknowledged;

    expect(outcome).toMatchObject({ by: 'acks', youngRegistry: false, missing: [] });
    expect(outcome.waitedMs).toBeLessThan(LEASE_MS / 2);
  });

  it('writes the snapshot entry with the message, and an older exp never lowers it', async () => {
    const auth = await publisher();
    await auth.start();

    await auth.deliver([{ sid: 'sid-exp', exp: 2_000_000_000 }]);
    await auth.deliver([{ sid: 'sid-exp', exp: 1_900_000_000 }]);

    expect(await admin.zscore(keys.snapshot, 'sid-exp')).toBe('2000000000');
  });

  it('a registration creates the birth marker only when it is absent', async () => {
    const auth = await publisher();
    await auth.start();
    await replica('replica-born');
    const born = await admin.get(keys.registryBorn);
    await new Promise((r) => setTimeout(r, LEASE_MS / 4 + 100)); // a renewal happened

    const after = await admin.get(keys.registryBorn);
    await admin.del(keys.replicas, keys.registryBorn); // what a FLUSHALL does to them
    const reborn = await waitUntil(async () => (await admin.get(keys.registryBorn)) !== null, LEASE_MS);

    expect(Number(born)).toBeGreaterThan(Date.now() - 60_000);
    expect(after).toBe(born);
    expect(reborn).toBe(true);
    expect(Number(await admin.get(keys.registryBorn))).toBeGreaterThan(Number(born));
  });

  it('when the epoch marker vanishes under live connections, the heartbeat re-seeds the snapshot from the store of record', async () => {
    const auth = await publisher(async () => [entry('sid-from-postgres')]);
    await auth.start();
    const firstEpoch = await admin.get(keys.epoch);

    await admin.del(keys.epoch, keys.snapshot); // FLUSHALL of our keys; the connections stay up
    const healed = await waitUntil(async () => (await admin.get(keys.epoch)) !== null, LEASE_MS);

    expect(healed).toBe(true);
    expect(await admin.get(keys.epoch)).not.toBe(firstEpoch);
    expect(await admin.zscore(keys.snapshot, 'sid-from-postgres')).not.toBeNull();
  });

  it('when Redis loses its data in the middle of a seed, no epoch is set until a complete seed', async () => {
    let rounds = 0;
    const auth = await publisher(async () => {
      if (++rounds === 1) {
        // A FLUSHALL between the seed's start and its commit: the marker goes with everything else.
        const markers = await admin.keys(`${keys.seedMarker}*`);
        await admin.del(...markers);
        expect(await admin.get(keys.epoch)).toBeNull();
      }
      return [entry('sid-seeded')];
    });

    await auth.start();

    expect(rounds).toBe(2);
    expect(await admin.get(keys.epoch)).not.toBeNull();
    expect(await admin.zscore(keys.snapshot, 'sid-seeded')).not.toBeNull();
    expect(await admin.keys(`${keys.seedMarker}*`)).toEqual([]);
  });
});
