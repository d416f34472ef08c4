import {
  createLogger,
  createRedisClients,
  createRedisRateLimiter,
  createRedisRevocationStore,
  createRevocationCache,
  watchChannelSubscription,
  revocationKeys,
  systemClock,
  type RedisClients,
  type RevocationEntry,
  type RevocationKeys,
  type RedisTarget,
} from '@concord/common';
import { Cluster } from 'ioredis';
import { createLoginThrottle } from '../services/auth-service/src/data-access/login-throttle.store';
import { createRedisRevocationPublisher } from '../services/auth-service/src/data-access/revocation-publisher';
import { testRedisPrefix } from '../services/auth-service/test/support/auth-harness';
import {
  createRedisPresenceStore,
  presenceKeys,
} from '../services/realtime-service/src/data-access/presence.store';
import { watchPresenceRecovery } from '../services/realtime-service/src/data-access/presence-recovery';
import { createPresenceTracker } from '../services/realtime-service/src/domain/presence-tracker';
import type { PresenceTransition } from '../services/realtime-service/src/domain/presence.ports';
import { startRedisCluster, type PrivateRedisCluster } from './support/redis-cluster';
import { waitFor } from './support/processes';

// The key-level code of every service, unchanged, against a real Redis Cluster (three masters with a
// replica each): each multi-key script shares one hash tag, so none answers CROSSSLOT, and
// PUBLISHes from scripts reach subscribers connected to other nodes (cluster-bus broadcast).

const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'cluster-keys' });
let cluster: PrivateRedisCluster;
let target: RedisTarget;
const opened: RedisClients[] = [];
const stops: (() => unknown)[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  target = {
    url: 'redis://unused',
    clusterNodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  };
}, 60_000);

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

afterAll(() => cluster?.cleanup());

async function clients(name: string): Promise<RedisClients> {
  const c = await createRedisClients(target, logger, name);
  opened.push(c);
  return c;
}

/** auth-service's revocation publisher on the cluster, started (seeded from `loadRevoked`). */
async function startedPublisher(keys: RevocationKeys, loadRevoked: () => Promise<RevocationEntry[]>) {
  const publisher = createRedisRevocationPublisher({
    clients: await clients('auth-publisher'),
    keys,
    leaseMs: 800,
    skewMs: 50,
    retainAfterExpMs: 60_000,
    clock: systemClock,
    logger,
    loadRevoked,
  });
  await publisher.start();
  stops.push(() => publisher.stop());
  return publisher;
}

describe('key-level code on a Redis Cluster', () => {
  it('the command connection is a Cluster, and each family of keys maps to one slot', async () => {
    const c = await clients('probe');
    const prefix = testRedisPrefix();
    const slot = async (key: string) => Number(await c.commands.cluster('KEYSLOT', key));
    // Keys only: pub/sub channels have no slot.
    const { channel: _r, ackChannel: _a, ...revocation } = revocationKeys(prefix);
    const { channel: _p, ...presence } = presenceKeys(prefix, 'node-1');
    const families = [Object.values(revocation).map((k) => `${k}x`), Object.values(presence)];

    expect(c.commands).toBeInstanceOf(Cluster);
    for (const keys of families) {
      const slots = new Set(await Promise.all(keys.map(slot)));
      expect(slots.size).toBe(1);
    }
  });

  it('login throttle: reserving in all three budgets and releasing run as one script each', async () => {
    const c = await clients('auth-throttle');
    const throttle = createLoginThrottle({
      redis: c.commands,
      prefix: testRedisPrefix(),
      policy: {
        perAccountAddress: 1,
        perAddress: 100,
        perAccount: 100,
        windowSeconds: 900,
        baseDelayMs: 60_000,
        maxDelayMs: 60_000,
      },
      clock: systemClock,
    });
    const attempt = { username: 'cluster-user', address: '198.51.100.7', knownAddress: false };

    const first = await throttle.reserve(attempt);
    const second = await throttle.reserve(attempt);
    if (!first.admitted) throw new Error('the first attempt must be admitted');
    await throttle.release(first.reservation);
    const afterRelease = await throttle.reserve(attempt);

    expect(second).toMatchObject({ admitted: false, budget: 'account_address' });
    expect(afterRelease.admitted).toBe(true);
  });

  it('revocation: seed, registration, snapshot read, revoke with acknowledgements and heartbeats', async () => {
    const keys = revocationKeys(testRedisPrefix());
    const publisher = await startedPublisher(keys, async () => [
      { sid: 'seeded', exp: Math.floor(Date.now() / 1000) + 900 },
    ]);
    const replicas = await Promise.all(
      ['settings-1', 'realtime-1'].map(async (id) => {
        const cache = createRevocationCache({
          store: createRedisRevocationStore(await clients(id), keys, logger),
          replicaId: id,
          leaseMs: 800,
          skewMs: 50,
          clock: systemClock,
          logger,
        });
        await cache.start();
        stops.push(() => cache.stop());
        return cache;
      }),
    );

    const sent = await publisher.send([{ sid: 'revoked-now', exp: Math.floor(Date.now() / 1000) + 900 }]);
    const outcome = await sent.acknowledged;
    // Heartbeats keep the lease alive across several lease lengths.
    await new Promise((r) => setTimeout(r, 2_000));

    expect(outcome.missing).toEqual([]);
    for (const cache of replicas) {
      expect(() => cache.assertNotRevoked('seeded')).toThrow(expect.objectContaining({ status: 401 }));
      expect(() => cache.assertNotRevoked('revoked-now')).toThrow(expect.objectContaining({ status: 401 }));
      expect(() => cache.assertNotRevoked('still-valid')).not.toThrow();
      expect(cache.health()).toBe('ok');
    }
  });

  it('presence: connect, heartbeat, re-assert, reap and deregister; transitions reach the other node', async () => {
    const prefix = testRedisPrefix();
    const store = async (nodeId: string) =>
      createRedisPresenceStore({ clients: await clients(nodeId), prefix, nodeId, nodeTtlMs: 1_000, logger });
    const a = await store('realtime-a');
    const b = await store('realtime-b');
    const dead = await store('realtime-dead');
    const seen: PresenceTransition[] = [];
    await b.onTransition((t) => seen.push(t));

    for (const node of [a, b, dead]) await node.reassert({ sockets: new Map(), pending: [] });
    const connected = await a.connect({ socketId: 's1', userId: 'alice', maxSockets: 5 });
    await dead.connect({ socketId: 's2', userId: 'bob', maxSockets: 5 });
    const renewed = await a.heartbeat();
    await new Promise((r) => setTimeout(r, 1_200));
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    const reaped = await b.reap();
    const online = await b.list();
    await a.deregister();
    await waitFor(
      async () => seen.filter((t) => t.type === 'leave').length === 2,
      10_000,
      () => `transitions seen: ${JSON.stringify(seen)}`,
    );

    expect(connected).toEqual({ status: 'connected', connections: 1 });
    expect(renewed).toBe(true);
    expect(reaped).toBe(1);
    expect(online).toEqual([{ user_id: 'alice', connections: 1 }]);
    expect(seen).toEqual([
      { type: 'join', user_id: 'alice' },
      { type: 'join', user_id: 'bob' },
      { type: 'leave', user_id: 'bob' },
      { type: 'leave', user_id: 'alice' },
    ]);
  });

  it('per-client rate limit: counts on the cluster and refuses past its points', async () => {
    const c = await clients('limiter');
    const limiter = createRedisRateLimiter({
      redis: c.commands,
      keyPrefix: `${testRedisPrefix()}api`,
      points: 2,
      durationSeconds: 60,
    });

    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await limiter.consume('user-1')).allowed);

    expect(decisions).toEqual([true, true, false]);
  });

  it('after a failover that lost the newest writes, auth re-seeds the snapshot and realtime re-asserts presence', async () => {
    const prefix = testRedisPrefix();
    const keys = revocationKeys(prefix);
    const postgres: RevocationEntry[] = [];
    const publisher = await startedPublisher(keys, async () => [...postgres]);
    const master = await cluster.masterFor(keys.snapshot);
    const replicaIds = (await cluster.view()).filter((x) => x.masterId === master.id).map((x) => x.id);
    const replica = cluster.nodes.find((n) => replicaIds.includes(n.id))!;
    const reader = await clients('reader');
    const realtime = await clients('realtime-x');
    const presenceStore = createRedisPresenceStore({
      clients: realtime,
      prefix,
      nodeId: 'realtime-x',
      nodeTtlMs: 60_000,
      logger,
    });
    // The registration survives the failover (written long before), so a heartbeat alone never
    // re-asserts: only the recovery on `-node` (retried by the next heartbeat if it failed) can.
    const tracker = createPresenceTracker({
      store: presenceStore,
      maxSocketsPerUser: 5,
      heartbeatMs: 1_000,
      sweepMs: 60_000,
      onError: () => undefined,
    });
    await tracker.start();
    stops.push(() => tracker.stop());
    watchPresenceRecovery(realtime.commands, tracker, logger);
    expect(await cluster.masterFor(presenceKeys(prefix, 'realtime-x').users)).toBe(master);

    // The replica stops replicating (paused, and its link cut: a paused process's kernel would still
    // buffer the stream); the revoke is committed (Postgres) and lands on the master only.
    replica.pause();
    await cluster.command(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
    const entry = { sid: 'lost-in-failover', exp: Math.floor(Date.now() / 1000) + 900 };
    postgres.push(entry);
    await publisher.deliver([entry]);
    await tracker.track('socket-lost', 'user-lost');
    await master.kill();
    replica.resume();
    await cluster.waitForFailover(master, 30_000);
    await waitFor(
      async () => (await reader.commands.zscore(keys.snapshot, entry.sid)) !== null,
      20_000,
      () => 'the promoted replica never got the lost snapshot entry back',
    );

    await waitFor(
      async () => (await presenceStore.list()).some((u) => u.user_id === 'user-lost'),
      20_000,
      () => 'the promoted replica never got the lost presence entry back',
    );

    expect(Number(await reader.commands.zscore(keys.snapshot, entry.sid))).toBe(entry.exp);
    expect(await presenceStore.list()).toEqual([{ user_id: 'user-lost', connections: 1 }]);
  }, 90_000);

  it('pub/sub: when the subscriber’s node dies, it moves to another node, reports down then up, and hears publishes again', async () => {
    // A subscriber on a live replica (killing it needs no failover, so the rest of the cluster stays ok).
    const view = await cluster.view();
    let c: RedisClients | undefined;
    for (let i = 0; i < 30 && !c; i++) {
      const candidate = await clients(`subscriber-${i}`);
      const port = candidate.subscriber.options.port;
      const node = view.find((x) => x.address === `127.0.0.1:${port}`);
      if (node?.role === 'slave' && !node.failed) c = candidate;
    }
    if (!c) throw new Error('no subscriber landed on a replica');
    const before = c.subscriber.options.port!;
    const channel = `${testRedisPrefix()}events`;
    const states: string[] = [];
    const heard: string[] = [];
    watchChannelSubscription({ clients: c, channel, logger, onChange: (s) => states.push(s) });
    await c.onChannel(channel, (m) => heard.push(m));

    await cluster.nodes.find((n) => n.port === before)!.kill();
    await waitFor(
      async () => states.includes('up'),
      20_000,
      () => `states: ${states.join(',')}`,
    );
    // Published until heard: the publisher's own connection may meet the dead node too while the
    // cluster's slot map catches up ("Connection is closed"); what is under test is the subscriber.
    const publisher = c.commands;
    await waitFor(
      async () => {
        await publisher.publish(channel, 'after the move');
        return heard.includes('after the move');
      },
      10_000,
      () => `heard: ${heard.join(',')}`,
    );

    // More than one `down` when it met another dead node on the way (the master an earlier test killed).
    expect(states[0]).toBe('down');
    expect(states.filter((x) => x === 'up')).toEqual(['up']);
    expect(states.at(-1)).toBe('up');
    expect(c.subscriber.options.port).not.toBe(before);
  }, 60_000);
});
