import { AppError } from '../errors/app-error';
import { createLogger } from '../logging/logger';
import type { Clock } from '../ops/clock';
import { createRevocationCache, type RevocationCache, type RevocationCacheOptions } from './revocation-cache';
import {
  parseRevocationMessage,
  type RevocationAck,
  type RevocationEntry,
  type RevocationMessage,
} from './revocation-protocol';
import type { RevocationSnapshot, RevocationStore } from './revocation-store';

const LEASE_MS = 10_000;
const SKEW_MS = 250;
const TOLERANCE_MS = 60_000;
const START_MS = 1_800_000_000_000;
const REPLICA = 'realtime-1';

/** A clock the test moves by hand; a "pause" moves both clocks, as SIGSTOP would. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let wall = START_MS;
  let mono = 0;
  return {
    now: () => wall,
    monotonic: () => mono,
    advance(ms) {
      wall += ms;
      mono += ms;
    },
  };
}

/** An in-memory Redis: the test sets the epoch and snapshot, delivers messages and connection events. */
class FakeStore implements RevocationStore {
  epoch: string | null = 'epoch-1';
  snapshot: RevocationEntry[] = [];
  readonly calls: string[] = [];
  readonly acks: RevocationAck[] = [];
  readonly registrations: Array<{ replicaId: string; expiresAtMs: number }> = [];
  readonly snapshotReads: number[] = [];
  failRegister = false;
  failAck = false;
  /** When set, readSnapshot waits for this promise (a slow snapshot). */
  snapshotGate: Promise<void> | undefined;
  /** When set, register waits for this promise (a registration in flight). */
  registerGate: Promise<void> | undefined;
  private handler: ((message: RevocationMessage) => void) | undefined;
  private connectionHandler: ((state: 'down' | 'up') => void) | undefined;

  async subscribe(handler: (message: RevocationMessage) => void): Promise<void> {
    this.calls.push('subscribe');
    this.handler = handler;
  }

  onConnectionChange(handler: (state: 'down' | 'up') => void): void {
    this.connectionHandler = handler;
  }

  async readSnapshot(minExp: number): Promise<RevocationSnapshot | null> {
    this.calls.push('readSnapshot');
    this.snapshotReads.push(minExp);
    // Like the Redis script: epoch and entries as of one instant, the one the read was sent at.
    const epoch = this.epoch;
    const entries = this.snapshot.filter((e) => e.exp >= minExp).map((e) => ({ ...e }));
    if (this.snapshotGate) await this.snapshotGate;
    return epoch === null ? null : { epoch, entries };
  }

  async register(replicaId: string, expiresAtMs: number): Promise<void> {
    this.calls.push('register');
    const fail = this.failRegister; // decided when the write is sent, like a real round trip
    if (this.registerGate) await this.registerGate;
    if (fail) throw new Error('redis unavailable');
    this.registrations.push({ replicaId, expiresAtMs });
  }

  async publishAck(ack: RevocationAck): Promise<void> {
    if (this.failAck) throw new Error('redis unavailable');
    this.acks.push(ack);
  }

  deliver(message: RevocationMessage): void {
    if (!this.handler) throw new Error('not subscribed');
    this.handler(message);
  }

  connection(state: 'down' | 'up'): void {
    this.connectionHandler?.(state);
  }
}

/** Lets the fake store's already-resolved promises (and the cache's awaits on them) settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function refusal(act: () => void): AppError {
  try {
    act();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

describe('createRevocationCache', () => {
  let store: FakeStore;
  let clock: ReturnType<typeof fakeClock>;
  let cache: RevocationCache;
  let revokedBatches: RevocationEntry[][];

  function create(overrides: Partial<RevocationCacheOptions> = {}): RevocationCache {
    cache = createRevocationCache({
      store,
      replicaId: REPLICA,
      leaseMs: LEASE_MS,
      skewMs: SKEW_MS,
      tokenToleranceMs: TOLERANCE_MS,
      clock,
      logger: createLogger({ level: 'silent', service: 'test', replicaId: REPLICA }),
      onRevoked: (entries) => revokedBatches.push(entries),
      ...overrides,
    });
    return cache;
  }

  /** Moves time forward: both clocks and the cache's timers (registration, prune). */
  async function elapse(ms: number): Promise<void> {
    clock.advance(ms);
    await jest.advanceTimersByTimeAsync(ms);
    await settle();
  }

  function heartbeat(epoch = 'epoch-1', sentAt = clock.now()): void {
    store.deliver({ type: 'heartbeat', epoch, sent_at: sentAt });
  }

  function revoke(id: string, entries: RevocationEntry[], sentAt = clock.now()): void {
    store.deliver({ type: 'revoke', id, entries, sent_at: sentAt });
  }

  beforeEach(() => {
    jest.useFakeTimers();
    store = new FakeStore();
    clock = fakeClock();
    revokedBatches = [];
  });

  afterEach(() => {
    cache?.stop();
    jest.useRealTimers();
  });

  it('refuses to vouch for any session before start', () => {
    create();

    const err = refusal(() => cache.assertNotRevoked('s1'));

    expect(cache.health()).toBe('disconnected');
    expect(cache.isLoaded()).toBe(false);
    expect({ code: err.code, status: err.status }).toEqual({ code: 8001, status: 503 });
    expect(err.data).toEqual({ retryAfterSeconds: 1, reason: 'disconnected' });
  });

  it('is ok right after start when an epoch exists', async () => {
    create();

    await cache.start();

    expect(cache.health()).toBe('ok');
    expect(cache.isLoaded()).toBe(true);
    expect(() => cache.assertNotRevoked('live-session')).not.toThrow();
  });

  it('registers, then subscribes, then loads the snapshot', async () => {
    create();

    await cache.start();

    expect(store.calls).toEqual(['register', 'subscribe', 'readSnapshot']);
    expect(store.registrations).toEqual([{ replicaId: REPLICA, expiresAtMs: START_MS + 10_000 }]);
  });

  it('refuses a session revoked in the snapshot with 401 (1002)', async () => {
    store.snapshot = [{ sid: 's1', exp: unixSeconds(START_MS) + 900 }];
    create();
    await cache.start();

    const err = refusal(() => cache.assertNotRevoked('s1'));

    expect({ code: err.code, status: err.status, error: err.error }).toEqual({
      code: 1002,
      status: 401,
      error: 'SESSION_REVOKED',
    });
  });

  it("stays 'loading' without an epoch until one is announced and its snapshot is loaded", async () => {
    store.epoch = null;
    create();
    await cache.start();
    expect(cache.health()).toBe('loading');
    expect(refusal(() => cache.assertNotRevoked('s1')).data.reason).toBe('loading');

    store.epoch = 'epoch-2';
    store.snapshot = [{ sid: 's1', exp: unixSeconds(START_MS) + 900 }];
    store.deliver({ type: 'epoch', epoch: 'epoch-2', sent_at: clock.now() });
    await settle();

    expect(cache.health()).toBe('ok');
    expect(refusal(() => cache.assertNotRevoked('s1')).code).toBe(1002);
  });

  describe('revoke messages', () => {
    it('merge into the set instead of replacing it, and are acknowledged with the message id', async () => {
      store.snapshot = [{ sid: 'from-snapshot', exp: unixSeconds(START_MS) + 900 }];
      create();
      await cache.start();
      revokedBatches.length = 0; // the load's own report is another test's

      revoke('msg-1', [{ sid: 'from-message', exp: unixSeconds(START_MS) + 900 }]);
      await settle();

      expect(refusal(() => cache.assertNotRevoked('from-snapshot')).code).toBe(1002);
      expect(refusal(() => cache.assertNotRevoked('from-message')).code).toBe(1002);
      expect(cache.size()).toBe(2);
      expect(store.acks).toEqual([{ id: 'msg-1', replica: REPLICA }]);
      expect(revokedBatches).toEqual([[{ sid: 'from-message', exp: unixSeconds(START_MS) + 900 }]]);
    });

    it('are applied even while the snapshot is still loading (subscribe before load)', async () => {
      store.epoch = null;
      create();
      await cache.start();

      revoke('msg-1', [{ sid: 's1', exp: unixSeconds(START_MS) + 900 }]);
      store.epoch = 'epoch-1';
      heartbeat();
      await settle();

      expect(refusal(() => cache.assertNotRevoked('s1')).code).toBe(1002);
      expect(store.acks).toEqual([{ id: 'msg-1', replica: REPLICA }]);
    });

    it('after every snapshot load, report every sid in the set, also those that came by message', async () => {
      const exp = unixSeconds(START_MS) + 900;
      store.snapshot = [{ sid: 'from-snapshot', exp }];
      create();
      await cache.start();
      revoke('msg-1', [{ sid: 'from-message', exp }]);
      revokedBatches.length = 0;

      store.connection('down');
      store.connection('up');
      await settle();

      expect(revokedBatches).toHaveLength(1);
      expect(revokedBatches[0]).toEqual(
        expect.arrayContaining([
          { sid: 'from-snapshot', exp },
          { sid: 'from-message', exp },
        ]),
      );
    });

    it('keep the later exp when a sid is revoked twice', async () => {
      const exp = unixSeconds(START_MS) + 900;
      store.snapshot = [{ sid: 's1', exp }];
      create();
      await cache.start();

      revoke('msg-1', [{ sid: 's1', exp: unixSeconds(START_MS) + 10 }]);
      await elapse(100_000 + TOLERANCE_MS);
      heartbeat();

      expect(refusal(() => cache.assertNotRevoked('s1')).code).toBe(1002);
    });

    it('still apply when the ack cannot be published', async () => {
      store.failAck = true;
      create();
      await cache.start();

      revoke('msg-1', [{ sid: 's1', exp: unixSeconds(START_MS) + 900 }]);
      await settle();

      expect(refusal(() => cache.assertNotRevoked('s1')).code).toBe(1002);
    });
  });

  describe('lease', () => {
    it('expires when nothing is heard on the channel for a lease (monotonic clock)', async () => {
      create();
      await cache.start();

      await elapse(LEASE_MS + 1);

      const err = refusal(() => cache.assertNotRevoked('s1'));
      expect({ code: err.code, status: err.status, reason: err.data.reason }).toEqual({
        code: 8001,
        status: 503,
        reason: 'lease-expired',
      });
    });

    it('stays valid while heartbeats arrive every quarter lease', async () => {
      create();
      await cache.start();

      for (let i = 0; i < 20; i++) {
        await elapse(LEASE_MS / 4);
        heartbeat();
        expect(cache.health()).toBe('ok');
      }
    });

    it('recovers when a fresh heartbeat arrives after expiry', async () => {
      create();
      await cache.start();
      await elapse(LEASE_MS + 1);

      heartbeat();

      expect(cache.health()).toBe('ok');
    });

    it('is not refreshed by a message processed late whose sent_at is older than the lease', async () => {
      create();
      await cache.start();
      const sentBeforePause = clock.now();

      // The process is paused (SIGSTOP) for two leases; on resume it reads a heartbeat sent before.
      await elapse(2 * LEASE_MS);
      heartbeat('epoch-1', sentBeforePause);

      expect(cache.health()).toBe('lease-expired');
    });

    it('allows for the clock skew: a sent_at older than lease minus skew does not count', async () => {
      create();
      await cache.start();
      await elapse(LEASE_MS / 2);

      heartbeat('epoch-1', clock.now() - (LEASE_MS - SKEW_MS) - 1);
      await elapse(LEASE_MS / 2 + 1);
      heartbeat('epoch-1', clock.now() - (LEASE_MS - SKEW_MS) - 1);

      expect(cache.health()).toBe('lease-expired');
    });

    it('counts a late message whose sent_at is recent', async () => {
      create();
      await cache.start();
      await elapse(2 * LEASE_MS);

      heartbeat('epoch-1', clock.now() - 1_000);

      expect(cache.health()).toBe('ok');
    });
  });

  describe('connection', () => {
    it("answers 503 'disconnected' while the subscriber connection is down", async () => {
      create();
      await cache.start();

      store.connection('down');

      expect(cache.health()).toBe('disconnected');
      expect(refusal(() => cache.assertNotRevoked('s1')).data.reason).toBe('disconnected');
    });

    it('reloads the snapshot on reconnect and keeps what it knew', async () => {
      store.snapshot = [{ sid: 'before', exp: unixSeconds(START_MS) + 900 }];
      create();
      await cache.start();
      store.connection('down');
      // Revoked during the outage: only the snapshot has it (Redis restarted and auth re-seeded).
      store.snapshot = [{ sid: 'during-outage', exp: unixSeconds(START_MS) + 900 }];
      await elapse(1_000);

      store.connection('up');
      await settle();

      expect(store.calls.filter((c) => c === 'readSnapshot')).toHaveLength(2);
      expect(cache.health()).toBe('ok');
      expect(refusal(() => cache.assertNotRevoked('during-outage')).code).toBe(1002);
      expect(refusal(() => cache.assertNotRevoked('before')).code).toBe(1002);
    });

    it("stays 'loading' after a reconnect until the reload has finished", async () => {
      create();
      await cache.start();
      let open!: () => void;
      store.snapshotGate = new Promise<void>((resolve) => (open = resolve));

      store.connection('down');
      store.connection('up');
      await settle();
      expect(cache.health()).toBe('loading');

      open();
      await settle();
      expect(cache.health()).toBe('ok');
    });
  });

  describe('epochs', () => {
    it('reloads and merges when a heartbeat carries a different epoch', async () => {
      store.snapshot = [{ sid: 'old-epoch', exp: unixSeconds(START_MS) + 900 }];
      create();
      await cache.start();
      store.epoch = 'epoch-2';
      store.snapshot = [{ sid: 'new-epoch', exp: unixSeconds(START_MS) + 900 }];

      heartbeat('epoch-2');
      await settle();

      expect(store.calls.filter((c) => c === 'readSnapshot')).toHaveLength(2);
      expect(cache.health()).toBe('ok');
      expect(refusal(() => cache.assertNotRevoked('old-epoch')).code).toBe(1002);
      expect(refusal(() => cache.assertNotRevoked('new-epoch')).code).toBe(1002);
    });

    it('does not reload on a heartbeat of the epoch it already has', async () => {
      create();
      await cache.start();

      heartbeat('epoch-1');
      await settle();

      expect(store.calls.filter((c) => c === 'readSnapshot')).toHaveLength(1);
    });

    it('reloads once more when an epoch is announced while a load that found none was in flight', async () => {
      store.epoch = null;
      create();
      await cache.start();
      let open!: () => void;
      store.snapshotGate = new Promise<void>((resolve) => (open = resolve));
      store.connection('down');
      store.connection('up');
      await settle();

      store.epoch = 'epoch-2';
      store.deliver({ type: 'epoch', epoch: 'epoch-2', sent_at: clock.now() });
      open();
      await settle();

      expect(store.calls.filter((c) => c === 'readSnapshot')).toHaveLength(3);
      expect(cache.health()).toBe('ok');
    });

    it('does not restart a slow snapshot load on every heartbeat of the same epoch', async () => {
      create();
      await cache.start();
      let open!: () => void;
      store.snapshotGate = new Promise<void>((resolve) => (open = resolve));
      store.epoch = 'epoch-2';

      heartbeat('epoch-2');
      await settle();
      heartbeat('epoch-2');
      heartbeat('epoch-2');
      await settle();
      open();
      await settle();

      expect(store.calls.filter((c) => c === 'readSnapshot')).toHaveLength(2);
      expect(cache.health()).toBe('ok');
    });
  });

  describe('registration', () => {
    it('is renewed every quarter lease and expires one lease after each renewal', async () => {
      create();
      await cache.start();

      await elapse(2_500);

      // Independently stated: with a 10 s lease, renewals at 0 and 2.5 s, each valid for 10 s.
      expect(store.registrations).toEqual([
        { replicaId: REPLICA, expiresAtMs: START_MS + 10_000 },
        { replicaId: REPLICA, expiresAtMs: START_MS + 12_500 },
      ]);
    });

    it("refuses with 'unregistered' once renewals have failed for half a lease", async () => {
      create();
      await cache.start();
      store.failRegister = true;

      await elapse(2_500);
      heartbeat();
      await elapse(2_500);
      heartbeat();
      expect(cache.health()).toBe('ok');
      await elapse(1);
      heartbeat();

      expect(cache.health()).toBe('unregistered');
      expect(refusal(() => cache.assertNotRevoked('s1')).data.reason).toBe('unregistered');
    });

    it('counts itself unregistered from a disconnect until it has registered again', async () => {
      create();
      await cache.start();
      store.failRegister = true;

      store.connection('down');
      store.connection('up');
      await settle();
      heartbeat();

      expect(cache.isLoaded()).toBe(true);
      expect(cache.health()).toBe('unregistered');
      store.failRegister = false;
      await elapse(2_500);
      heartbeat();
      expect(cache.health()).toBe('ok');
    });

    it('when renewals resume after a lapse without a disconnect, reloads the snapshot before it vouches again', async () => {
      create();
      await cache.start();
      store.failRegister = true; // Redis refuses writes (out of memory); the channel keeps working
      for (let i = 0; i < 3; i++) {
        await elapse(2_500);
        heartbeat();
      }
      expect(cache.health()).toBe('unregistered');
      // A revoke published meanwhile did not wait for us; its message is not processed yet.
      store.snapshot = [{ sid: 'revoked-during-lapse', exp: unixSeconds(START_MS) + 900 }];
      let open!: () => void;
      store.snapshotGate = new Promise<void>((resolve) => (open = resolve));
      store.failRegister = false;

      await elapse(2_500);
      heartbeat();
      const whileReloading = cache.health();
      open();
      await settle();

      expect(whileReloading).toBe('loading');
      expect(cache.health()).toBe('ok');
      expect(refusal(() => cache.assertNotRevoked('revoked-during-lapse')).code).toBe(1002);
    });

    it('does not reload on an ordinary renewal', async () => {
      create();
      await cache.start();

      await elapse(2_500);
      await elapse(2_500);

      expect(store.calls.filter((c) => c === 'readSnapshot')).toHaveLength(1);
    });

    it('after a reconnect, registers again before it reloads the snapshot', async () => {
      create();
      await cache.start();
      store.calls.length = 0;

      store.connection('down');
      store.connection('up');
      await settle();

      expect(store.calls).toEqual(['register', 'readSnapshot']);
      expect(cache.health()).toBe('ok');
    });

    it('does not count a registration that began before a disconnect (it may have reached a Redis that then lost it)', async () => {
      create();
      await cache.start();
      let land!: () => void;
      store.registerGate = new Promise<void>((resolve) => (land = resolve));
      await elapse(2_500); // the quarter-lease renewal starts and hangs
      store.failRegister = true; // every later attempt fails: only the hanging one could count
      store.connection('down');
      store.connection('up');
      await settle();

      land();
      await settle();
      heartbeat();

      expect(store.registrations).toHaveLength(2); // the hanging write did land
      expect(cache.isLoaded()).toBe(true);
      expect(cache.health()).toBe('unregistered');
    });
  });

  describe('pruning', () => {
    it('keeps an entry until exp plus the token clock tolerance plus skew, then removes it', async () => {
      const exp = unixSeconds(START_MS) + 10;
      create();
      await cache.start();
      revoke('msg-1', [{ sid: 's1', exp }]);

      // Past exp but within the verifier's tolerance the token itself is still accepted: keep refusing.
      await elapse(10_000 + TOLERANCE_MS - 1_000);
      heartbeat();
      expect(refusal(() => cache.assertNotRevoked('s1')).code).toBe(1002);

      await elapse(TOLERANCE_MS);
      heartbeat();
      expect(cache.size()).toBe(0);
      expect(() => cache.assertNotRevoked('s1')).not.toThrow();
    });

    it('asks the snapshot only for entries that can still matter', async () => {
      create();

      await cache.start();

      expect(store.snapshotReads).toEqual([unixSeconds(START_MS - TOLERANCE_MS - SKEW_MS)]);
    });

    it('defaults the retention to the largest allowed token tolerance', async () => {
      create({ tokenToleranceMs: undefined });

      await cache.start();

      expect(store.snapshotReads).toEqual([unixSeconds(START_MS - 60_000 - SKEW_MS)]);
    });
  });

  it('stops its timers on stop', async () => {
    create();
    await cache.start();

    cache.stop();
    await elapse(LEASE_MS);

    expect(store.registrations).toHaveLength(1);
  });
});

describe('parseRevocationMessage', () => {
  it.each([
    ['a revoke', { type: 'revoke', id: 'm1', sent_at: 1, entries: [{ sid: 's', exp: 2 }] }],
    ['a revoke without entries', { type: 'revoke', id: 'm1', sent_at: 1, entries: [] }],
    ['a heartbeat', { type: 'heartbeat', epoch: 'e', sent_at: 1 }],
    ['an epoch announcement', { type: 'epoch', epoch: 'e', sent_at: 1 }],
  ])('accepts %s', (_name, message) => {
    expect(parseRevocationMessage(JSON.stringify(message))).toEqual(message);
  });

  it.each([
    ['text that is not JSON', 'revoke s1'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"heartbeat"'],
    ['a message without sent_at', JSON.stringify({ type: 'heartbeat', epoch: 'e' })],
    ['a sent_at that is a string', JSON.stringify({ type: 'heartbeat', epoch: 'e', sent_at: '1' })],
    ['an unknown type', JSON.stringify({ type: 'grant', sent_at: 1 })],
    ['a heartbeat without epoch', JSON.stringify({ type: 'heartbeat', sent_at: 1 })],
    ['an epoch with a numeric epoch', JSON.stringify({ type: 'epoch', epoch: 7, sent_at: 1 })],
    ['a revoke without id', JSON.stringify({ type: 'revoke', sent_at: 1, entries: [] })],
    [
      'a revoke whose entries is not an array',
      JSON.stringify({ type: 'revoke', id: 'm', sent_at: 1, entries: {} }),
    ],
    [
      'a revoke with a numeric sid',
      JSON.stringify({ type: 'revoke', id: 'm', sent_at: 1, entries: [{ sid: 1, exp: 2 }] }),
    ],
    [
      'a revoke with a string exp',
      JSON.stringify({ type: 'revoke', id: 'm', sent_at: 1, entries: [{ sid: 's', exp: '2' }] }),
    ],
    ['a revoke with a null entry', JSON.stringify({ type: 'revoke', id: 'm', sent_at: 1, entries: [null] })],
  ])('ignores %s', (_name, text) => {
    expect(parseRevocationMessage(text)).toBeUndefined();
  });
});
