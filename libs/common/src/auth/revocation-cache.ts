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
  clock: Clock;
  logger: Logger;
  /** Called after entries are applied (realtime disconnects the sessions' sockets). */
  onRevoked?: (entries: RevocationEntry[]) => void;
}

/** Why a cache refuses to vouch for any token right now. */
export type CacheHealth = 'ok' | 'loading' | 'lease-expired' | 'unregistered' | 'disconnected';

/** A process's view of the revoked sessions (DESIGN.md section 4, "Revocation"). */
export interface RevocationCache {
  /** Subscribes, then loads the snapshot, then registers; resolves when subscribed. */
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
  const revoked = new Map<string, number>();
  const registrationTtl = REGISTRATION_TTL_LEASES * leaseMs;
  let loadedEpoch: string | undefined;
  let connected = false;
  let loadGeneration = 0;
  let lastHeardMono = Number.NEGATIVE_INFINITY;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let registeredMono = Number.NEGATIVE_INFINITY;
  let timers: NodeJS.Timeout[] = [];

  function merge(entries: RevocationEntry[]): void {
    for (const { sid, exp } of entries) {
      const known = revoked.get(sid);
      if (known === undefined || exp > known) revoked.set(sid, exp);
    }
  }

  function prune(): void {
    const cutoff = (clock.now() - skewMs) / 1000;
    for (const [sid, exp] of revoked) if (exp < cutoff) revoked.delete(sid);
  }

  // Loads the snapshot for the epoch currently in Redis. Without an epoch the snapshot may be a
  // half-seeded leftover of a Redis restart, so the cache stays "loading" until auth announces one.
  async function load(): Promise<void> {
    const generation = ++loadGeneration;
    loadedEpoch = undefined;
    const epoch = await store.readEpoch();
    if (epoch === null) {
      logger.warn('no revocation epoch in Redis yet; waiting for auth-service to seed the snapshot');
      return;
    }
    const entries = await store.readSnapshot(Math.floor((clock.now() - skewMs) / 1000));
    if (generation !== loadGeneration) return;
    merge(entries);
    loadedEpoch = epoch;
    logger.info({ epoch, entries: entries.length }, 'revocation snapshot loaded');
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
    } else if (message.epoch !== loadedEpoch) {
      reload(`epoch ${message.type}`);
    }
  }

  async function register(): Promise<void> {
    // Taken before the write: the registration is assumed to start no later than this instant.
    const startedMono = clock.monotonic();
    await store.register(replicaId, clock.now() + registrationTtl);
    registeredMono = Math.max(registeredMono, startedMono);
  }

  function health(): CacheHealth {
    if (!connected) return 'disconnected';
    if (loadedEpoch === undefined) return 'loading';
    const mono = clock.monotonic();
    if (mono - lastHeardMono > leaseMs || clock.now() - lastSentAt > leaseMs) return 'lease-expired';
    // A revoker does not wait for replicas missing from the registry, so refuse well before ours lapses.
    if (mono - registeredMono > registrationTtl / 2) return 'unregistered';
    return 'ok';
  }

  return {
    async start() {
      store.onConnectionChange((state) => {
        if (state === 'down') {
          connected = false;
          loadedEpoch = undefined;
          return;
        }
        connected = true;
        reload('reconnect');
      });
      await store.subscribe(onMessage);
      connected = true;
      await load();
      await register();
      timers = [
        setInterval(() => {
          register().catch((err: unknown) => logger.warn({ err }, 'replica registration failed'));
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
          headers: { 'Retry-After': '1' },
          extra: { reason: state },
        });
      }
      if (revoked.has(sid)) throw new AppError('SESSION_REVOKED', 'The session has been revoked');
    },
    size: () => revoked.size,
  };
}
