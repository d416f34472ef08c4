import { createLogger } from '../logging/logger';
import type { Clock } from '../ops/clock';
import { createRevocationCache } from './revocation-cache';
import type { RevocationEntry, RevocationMessage } from './revocation-protocol';
import type { RevocationStore } from './revocation-store';

// The `onSnapshotLoaded` hook (DESIGN.md section 4, last paragraph): realtime cuts the sockets of
// every sid in a (re)loaded snapshot, since a revocation may arrive only that way (its message was
// published while this process was disconnected). Kept apart from revocation-cache.test.ts.

const clock: Clock = { now: () => 1_800_000_000_000, monotonic: () => 0 };

function storeWith(snapshot: RevocationEntry[]) {
  let handler: ((message: RevocationMessage) => void) | undefined;
  let connection: ((state: 'down' | 'up') => void) | undefined;
  const store: RevocationStore = {
    subscribe: async (h) => {
      handler = h;
    },
    onConnectionChange: (h) => {
      connection = h;
    },
    readEpoch: async () => 'epoch-1',
    readSnapshot: async (minExp) => snapshot.filter((e) => e.exp >= minExp),
    register: async () => undefined,
    publishAck: async () => undefined,
  };
  return {
    store,
    snapshot,
    deliver: (message: RevocationMessage) => handler?.(message),
    reconnect: () => connection?.('up'),
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function cacheOver(fake: ReturnType<typeof storeWith>, loads: RevocationEntry[][]) {
  return createRevocationCache({
    store: fake.store,
    replicaId: 'realtime-1',
    leaseMs: 10_000,
    skewMs: 250,
    clock,
    logger: createLogger({ level: 'silent', service: 'test', replicaId: 'realtime-1' }),
    onSnapshotLoaded: (entries) => loads.push(entries.map((e) => ({ ...e }))),
  });
}

describe('revocation cache onSnapshotLoaded', () => {
  const exp = 1_800_000_600;

  it('is called with every entry of the snapshot once the first load merged', async () => {
    const fake = storeWith([
      { sid: 's1', exp },
      { sid: 's2', exp },
    ]);
    const loads: RevocationEntry[][] = [];
    const cache = cacheOver(fake, loads);

    await cache.start();
    cache.stop();

    expect(loads).toEqual([
      [
        { sid: 's1', exp },
        { sid: 's2', exp },
      ],
    ]);
  });

  it('is called again after a reload, with the entries that only the snapshot carried', async () => {
    const fake = storeWith([{ sid: 's1', exp }]);
    const loads: RevocationEntry[][] = [];
    const cache = cacheOver(fake, loads);
    await cache.start();
    // Revoked while this process was disconnected: the message never reached it.
    fake.snapshot.push({ sid: 's-missed', exp });

    fake.reconnect();
    await settle();
    cache.stop();

    expect(loads).toHaveLength(2);
    expect(loads[1]!.map((e) => e.sid)).toEqual(['s1', 's-missed']);
    expect(() => cache.assertNotRevoked('s-missed')).toThrow(expect.objectContaining({ code: 1002 }));
  });

  it('is not called when a load finds no epoch yet', async () => {
    const fake = storeWith([{ sid: 's1', exp }]);
    fake.store.readEpoch = async () => null;
    const loads: RevocationEntry[][] = [];
    const cache = cacheOver(fake, loads);

    await cache.start();
    cache.stop();

    expect(loads).toEqual([]);
  });
});
