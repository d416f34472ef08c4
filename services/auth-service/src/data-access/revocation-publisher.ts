import { randomUUID } from 'node:crypto';
import {
  AppError,
  type Clock,
  type Logger,
  type RedisClients,
  type RevocationAck,
  type RevocationEntry,
  type RevocationKeys,
} from '@concord/common';
import type { RevocationPublisher } from '../domain/auth.ports';

/** Options of {@link createRedisRevocationPublisher}. */
export interface PublisherOptions {
  clients: RedisClients;
  keys: RevocationKeys;
  leaseMs: number;
  skewMs: number;
  /** How long after `exp` an entry still matters (JWT clock tolerance + skew). */
  retainAfterExpMs: number;
  clock: Clock;
  logger: Logger;
  /** The re-seed source: revoked sessions whose tokens may still be alive (Postgres). */
  loadRevoked: (minExpiry: Date) => Promise<RevocationEntry[]>;
}

/** Publisher side of revocation: snapshot + publish + acks, heartbeats, and re-seeding. */
export interface RedisRevocationPublisher extends RevocationPublisher {
  start(): Promise<void>;
  stop(): void;
  /** Deletes snapshot entries and replica registrations that no longer matter. */
  prune(): Promise<void>;
  /** Removes this process's registration (graceful shutdown). */
  deregister(replicaId: string): Promise<void>;
}

// One key (the channel is an argument, not a key), so the script stays single-slot on Redis Cluster.
// Heartbeat only when an epoch exists: after a Redis restart, silence until re-seeded keeps every
// replica failing closed instead of trusting an empty snapshot.
const HEARTBEAT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then return 0 end
redis.call('PUBLISH', ARGV[1], '{"type":"heartbeat","sent_at":' .. ARGV[2] .. ',"epoch":"' .. epoch .. '"}')
return 1`;

const SEED_CHUNK = 500;

/**
 * Publishes revocations after they are committed. `publish` resolves once every registered replica
 * acknowledged, or once lease + skew elapsed since the publish — by then any replica that has not
 * applied it refuses every authenticated request (docs/decisions/001-revocation-lease.md).
 */
export function createRedisRevocationPublisher(options: PublisherOptions): RedisRevocationPublisher {
  const { clients, keys, clock, logger } = options;
  const redis = clients.commands;
  const waiters = new Map<string, (replica: string) => void>();
  let heartbeat: NodeJS.Timeout | undefined;
  let seeding: Promise<void> | undefined;
  let stopped = false;

  function onAck(text: string): void {
    let ack: RevocationAck;
    try {
      ack = JSON.parse(text) as RevocationAck;
    } catch {
      logger.warn('ignored malformed revocation ack');
      return;
    }
    waiters.get(ack.id)?.(ack.replica);
  }

  async function seed(): Promise<void> {
    const minExpiry = new Date(clock.now() - options.retainAfterExpMs);
    const entries = await options.loadRevoked(minExpiry);
    for (let i = 0; i < entries.length; i += SEED_CHUNK) {
      const args = entries.slice(i, i + SEED_CHUNK).flatMap((e) => [e.exp, e.sid]);
      await redis.zadd(keys.snapshot, ...args);
    }
    // NX: if the epoch survived (no Redis restart, only our connection blipped) keep it, so replicas
    // do not reload for nothing; after a restart the first seeder's epoch wins.
    const candidate = randomUUID();
    const set = await redis.set(keys.epoch, candidate, 'NX');
    if (set === 'OK') {
      await redis.publish(
        keys.channel,
        JSON.stringify({ type: 'epoch', sent_at: clock.now(), epoch: candidate }),
      );
    }
    logger.info(
      { entries: entries.length, epoch_created: set === 'OK' ? candidate : false },
      'revocation snapshot seeded',
    );
  }

  // Re-seeding must not give up: until it succeeds every replica fails closed.
  function reseedUntilDone(reason: string): void {
    if (seeding || stopped) return;
    seeding = (async () => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          await seed();
          return;
        } catch (err) {
          logger.error({ err, reason, attempt }, 'revocation re-seed failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2_000)));
        }
      }
    })().finally(() => {
      seeding = undefined;
    });
  }

  return {
    async start() {
      await clients.onChannel(keys.ackChannel, onAck);
      await seed();
      redis.on('ready', () => reseedUntilDone('redis reconnect'));
      heartbeat = setInterval(() => {
        redis
          .eval(HEARTBEAT, 1, keys.epoch, keys.channel, String(clock.now()))
          .catch((err: unknown) =>
            logger.warn({ err: (err as Error).message }, 'revocation heartbeat failed'),
          );
      }, options.leaseMs / 4);
      heartbeat.unref();
    },

    stop() {
      stopped = true;
      if (heartbeat) clearInterval(heartbeat);
      for (const resolve of waiters.values()) resolve('*stopped*');
    },

    async publish(entries) {
      const id = randomUUID();
      const expected = new Set<string>();
      let publishedMono = 0;
      try {
        await redis.zadd(keys.snapshot, ...entries.flatMap((e) => [e.exp, e.sid]));
        const registered = await redis.zrangebyscore(keys.replicas, clock.now() - options.skewMs, '+inf');
        for (const replica of registered) expected.add(replica);
        let finish: () => void = () => undefined;
        const done = new Promise<void>((resolve) => {
          finish = resolve;
        });
        waiters.set(id, (replica) => {
          expected.delete(replica);
          if (expected.size === 0 || replica === '*stopped*') finish();
        });
        await redis.publish(
          keys.channel,
          JSON.stringify({ type: 'revoke', id, sent_at: clock.now(), entries }),
        );
        // The lease is counted from when the publish is known to have happened, never from before it.
        publishedMono = clock.monotonic();
        const timer = setTimeout(finish, options.leaseMs + options.skewMs);
        if (expected.size > 0) await done;
        clearTimeout(timer);
      } catch (err) {
        // Committed in Postgres already; the next re-seed publishes it. Safe for the client to retry.
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          'The revocation is recorded but could not be propagated; retry',
          {
            headers: { 'Retry-After': '1' },
            cause: err,
          },
        );
      } finally {
        waiters.delete(id);
      }
      const waited = clock.monotonic() - publishedMono;
      if (expected.size > 0) {
        logger.warn(
          { missing: [...expected], waited_ms: Math.round(waited) },
          'revocation not acknowledged by every replica; lease elapsed',
        );
      }
    },

    async prune() {
      await redis.zremrangebyscore(
        keys.snapshot,
        '-inf',
        Math.floor((clock.now() - options.retainAfterExpMs) / 1000) - 1,
      );
      await redis.zremrangebyscore(keys.replicas, '-inf', clock.now() - options.skewMs - 1);
    },

    async deregister(replicaId) {
      await redis.zrem(keys.replicas, replicaId);
    },
  };
}
