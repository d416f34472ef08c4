import { AppError } from '../errors/app-error';
import type { Logger } from '../logging/logger';
import type { Clock } from '../ops/clock';
import { REGISTRATION_TTL_LEASES, type RevocationEntry, type RevocationMessage } from './revocation-protocol';
import type { RevocationStore } from './revocation-store';

/** Options of {@link createRevocationCache}. */
export interface RevocationCacheOptions {
  store: RevocationStore;
  replicaId: string;
  leaseMs: number;
  /** Bound on wall-clock disagreement between processes; see docs/decisions/001. */
  skewMs: number;
  /**
   * The token verifier's clock tolerance: a token is accepted until `exp` + this, so its revocation
   * must be kept at least as long. Defaults to 60 000, the most `JWT_CLOCK_TOLERANCE_SECONDS` allows.
   */
  tokenToleranceMs?: number;
  clock: Clock;
  logger: Logger;
  /**
   * Called after entries are applied: with a message's entries, and after every snapshot (re)load
   * with every entry of the set, since a revocation may arrive by a load rather than by message
   * (realtime cuts the sockets of each sid, DESIGN.md section 4).
   */
  onRevoked?: (entries: RevocationEntry[]) => void;
}

/** Every state {@link RevocationCache.health} can report: 'ok' or why it refuses to vouch for any token. */
export const CACHE_HEALTH_STATES = [
  'ok',
  'loading',
  'lease-expired',
  'unregistered',
  'disconnected',
] as const;

/** Why a cache refuses to vouch for any token right now ('ok' when it does not). */
export type CacheHealth = (typeof CACHE_HEALTH_STATES)[number];

/** A process's view of the revoked sessions (DESIGN.md section 4, "Revocation"). */
export interface RevocationCache {
  /**
   * Registers this replica, subscribes, then loads the snapshot; resolves once loaded (or once it
   * found no epoch yet: the cache then stays 'loading' until auth-service announces one).
   */
  start(): Promise<void>;
  stop(): void;
  /** Whether a snapshot is loaded (readiness). */
  isLoaded(): boolean;
  health(): CacheHealth;
  /**
   * The per-request check: throws 503 (8001) while the cache cannot vouch for its completeness and
   * 401 (1002) when `sid` is revoked. O(1).
   */
  assertNotRevoked(sid: string): void;
  /** Number of entries held (metrics). */
  size(): number;
}

/**
 * The revocation set every process keeps in memory. Fail closed: while the subscription is down, the
 * snapshot is not loaded for the current Redis epoch, nothing was heard on the channel for a lease,
 * or this replica's registration may have lapsed, authenticated requests get 503 instead of being
 * judged on possibly incomplete data. The argument is in docs/decisions/001-revocation-lease.md.
 */
export function createRevocationCache(options: RevocationCacheOptions): RevocationCache {
  const { store, clock, logger, leaseMs, skewMs, replicaId } = options;
  // Entries must outlive every token they refuse: verifiers accept up to exp + tolerance.
  const retainAfterExpMs = (options.tokenToleranceMs ?? 60_000) + skewMs;
  const revoked = new Map<string, number>();
  const registrationTtl = REGISTRATION_TTL_LEASES * leaseMs;
  let loadedEpoch: string | undefined;
  let connected = false;
  let loadGeneration = 0;
  let loading = false;
  /** The latest epoch announced while a load was in flight. */
  let epochHeardWhileLoading: string | undefined;
  let lastHeardMono = Number.NEGATIVE_INFINITY;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let registeredMono = Number.NEGATIVE_INFINITY;
  /** Incremented on every disconnect of the subscriber connection. */
  let connectionGeneration = 0;
  let reportedHealth: CacheHealth = 'disconnected';
  let timers: NodeJS.Timeout[] = [];

  function merge(entries: RevocationEntry[]): void {
    for (const { sid, exp } of entries) {
      const known = revoked.get(sid);
      if (known === undefined || exp > known) revoked.set(sid, exp);
    }
  }

  function prune(): void {
    const cutoff = (clock.now() - retainAfterExpMs) / 1000;
    for (const [sid, exp] of revoked) if (exp < cutoff) revoked.delete(sid);
  }

  // Loads the snapshot for the epoch currently in Redis (both read atomically). Without an epoch the
  // snapshot may be a half-seeded leftover of a Redis restart, so the cache stays "loading" until
  // auth announces one.
  async function load(): Promise<void> {
    const generation = ++loadGeneration;
    loadedEpoch = undefined;
    loading = true;
    epochHeardWhileLoading = undefined;
    try {
      const snapshot = await store.readSnapshot(Math.floor((clock.now() - retainAfterExpMs) / 1000));
      if (generation !== loadGeneration) return;
      if (snapshot === null) {
        logger.warn('no revocation epoch in Redis yet; waiting for auth-service to seed the snapshot');
      } else {
        merge(snapshot.entries);
        loadedEpoch = snapshot.epoch;
        options.onRevoked?.([...revoked].map(([sid, exp]) => ({ sid, exp })));
        logger.info(
          { epoch: snapshot.epoch, entries: snapshot.entries.length },
          'revocation snapshot loaded',
        );
      }
    } finally {
      if (generation === loadGeneration) loading = false;
    }
    // Announced while we were reading: the snapshot read may predate it.
    if (
      generation === loadGeneration &&
      epochHeardWhileLoading !== undefined &&
      epochHeardWhileLoading !== loadedEpoch
    ) {
      reload('epoch announced during the load');
    }
  }

  function reload(reason: string): void {
    load().catch((err: unknown) => {
      logger.error({ err, reason }, 'revocation snapshot load failed; refusing authenticated requests');
    });
  }

  function onMessage(message: RevocationMessage): void {
    lastHeardMono = clock.monotonic();
    lastSentAt = Math.max(lastSentAt, message.sent_at);
    if (message.type === 'revoke') {
      merge(message.entries);
      options.onRevoked?.(message.entries);
      store.publishAck({ id: message.id, replica: replicaId }).catch((err: unknown) => {
        // Without the ack the revoker waits out the lease; slower, still correct.
        logger.warn({ err }, 'revocation ack failed');
      });
    } else if (loading) {
      // A load under way is not restarted (a snapshot slower than a heartbeat interval would never
      // complete); the epoch it returns is checked against this one when it is done.
      epochHeardWhileLoading = message.epoch;
    } else if (message.epoch !== loadedEpoch) {
      reload(`epoch ${message.type}`);
    }
  }

  /**
   * Registers; resolves with whether this registration ended a lapse (the previous one counted had
   * expired by our own rule). A revoker does not wait for a replica missing from the registry, and
   * its message may still sit unread in our socket when we count ourselves registered again.
   */
  async function register(): Promise<{ endedLapse: boolean }> {
    // Taken before the write: the registration is assumed to start no later than this instant.
    const startedMono = clock.monotonic();
    const connection = connectionGeneration;
    await store.register(replicaId, clock.now() + registrationTtl);
    // A write that began before a disconnect may have landed in a Redis that has since lost it
    // (restart): only a registration begun on the current connection counts.
    if (connection !== connectionGeneration) return { endedLapse: false };
    const endedLapse = clock.monotonic() - registeredMono > registrationTtl / 2;
    registeredMono = Math.max(registeredMono, startedMono);
    return { endedLapse };
  }

  async function renew(): Promise<void> {
    const { endedLapse } = await register();
    // While we were unregistered a revoke may have answered without waiting for us: re-read the
    // snapshot (written before every publish) before vouching again, as after a reconnect.
    if (endedLapse && loadedEpoch !== undefined) reload('registration lapsed');
  }

  function currentHealth(): CacheHealth {
    if (!connected) return 'disconnected';
    if (loadedEpoch === undefined) return 'loading';
    const mono = clock.monotonic();
    // The wall-clock condition catches messages processed late (after a pause) whose sender stopped
    // long ago. `sent_at` is on the publisher's clock, so ours may read up to skewMs low: subtract
    // it, or a replica could still accept at the instant the revoker's lease has run out.
    if (mono - lastHeardMono > leaseMs || clock.now() - lastSentAt > leaseMs - skewMs) return 'lease-expired';
    // A revoker does not wait for replicas missing from the registry, so refuse well before ours lapses.
    if (mono - registeredMono > registrationTtl / 2) return 'unregistered';
    return 'ok';
  }

  function health(): CacheHealth {
    const state = currentHealth();
    if (state !== reportedHealth) {
      // A lifecycle event: every change of what this process vouches for is logged once.
      const fields = { event: 'revocation.health', from: reportedHealth, to: state };
      if (state === 'ok') logger.info(fields, 'revocation cache vouches for tokens');
      else logger.warn(fields, 'revocation cache refuses authenticated requests');
      reportedHealth = state;
    }
    return state;
  }

  return {
    async start() {
      store.onConnectionChange((state) => {
        if (state === 'down') {
          // DESIGN.md "Redis restart": a restarted Redis has an empty registry, so from its disconnect
          // until it has registered again this replica counts itself unregistered.
          connectionGeneration++;
          loadGeneration++; // a load still in flight read the Redis we just lost: discard it
          loading = false;
          connected = false;
          loadedEpoch = undefined;
          registeredMono = Number.NEGATIVE_INFINITY;
          health();
          return;
        }
        connected = true;
        // Register, then reload, in the order of start(); health() requires both.
        register().then(
          () => reload('reconnect'),
          (err: unknown) => {
            logger.warn({ err }, 'replica registration after reconnect failed; retried every quarter lease');
            reload('reconnect');
          },
        );
      });
      // Registered first: from here on every revoker waits for our ack (or a lease), so no revoke can
      // answer 204 while it is still in flight towards us. Registering after the load left a window
      // in which a revoke published between subscribe and register was neither waited for nor applied.
      await register();
      // Taken before subscribing: everything published from the subscription on is delivered to us,
      // and everything before it is in the snapshot read below (auth writes the snapshot before it
      // publishes), so our knowledge is complete as of this instant. Counting it as "heard" lets a
      // fresh replica serve at once instead of answering 503 until the first heartbeat.
      const subscribedMono = clock.monotonic();
      const subscribedAt = clock.now();
      await store.subscribe(onMessage);
      connected = true;
      await load();
      lastHeardMono = Math.max(lastHeardMono, subscribedMono);
      lastSentAt = Math.max(lastSentAt, subscribedAt);
      timers = [
        setInterval(() => {
          renew().catch((err: unknown) => logger.warn({ err }, 'replica registration failed'));
          health(); // logs a change even while no request asks
        }, leaseMs / 4),
        setInterval(prune, Math.max(1_000, Math.min(30_000, leaseMs))),
      ];
      for (const t of timers) t.unref();
    },
    stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
    },
    isLoaded: () => loadedEpoch !== undefined,
    health,
    assertNotRevoked(sid) {
      const state = health();
      if (state !== 'ok') {
        throw new AppError('SERVICE_UNAVAILABLE', 'Session state is temporarily unavailable; retry shortly', {
          data: { retryAfterSeconds: 1, reason: state },
        });
      }
      if (revoked.has(sid)) throw new AppError('SESSION_REVOKED', 'The session has been revoked');
    },
    size: () => revoked.size,
  };
}
