import { randomUUID } from 'node:crypto';
import {
  parseRevocationAck,
  type Clock,
  type Logger,
  type RedisClients,
  type RevocationEntry,
  type RevocationKeys,
} from '@concord/common';
import { z } from 'zod';
import type { RevocationAckOutcome, RevocationPublisher, RevocationSent } from '../domain/auth.ports';
import { HEARTBEAT, PUBLISH_REVOKE, SEED_COMMIT } from './revocation-scripts';

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
  /** Revokes of this process waiting for acknowledgements or the lease (metrics). */
  awaitingAcks(): number;
}

const SEED_CHUNK = 500;
/** A seed marker outlives any seed; it only has to vanish eventually if its seeder dies. */
const SEED_MARKER_TTL_MS = 600_000;
const STOPPED = Symbol('stopped');
/** Flushes in the middle of this many seeds in a row are not a coincidence: report them. */
const MAX_SEED_ROUNDS = 5;

const publishReply = z.tuple([z.number(), z.array(z.string())]);

/**
 * Publishes revocations after they are committed. `send` writes the snapshot and publishes in one
 * script; its `acknowledged` settles once every registered replica acknowledged, or once lease + skew
 * elapsed since the publish — by then any replica that has not applied it refuses every
 * authenticated request — and always the latter while the registry is younger than a lease
 * (docs/decisions/001-revocation-lease.md).
 */
export function createRedisRevocationPublisher(options: PublisherOptions): RedisRevocationPublisher {
  const { clients, keys, clock, logger } = options;
  const redis = clients.commands;
  const waitMs = options.leaseMs + options.skewMs;
  const waiters = new Map<string, (replica: string | typeof STOPPED) => void>();
  let heartbeat: NodeJS.Timeout | undefined;
  let seeding: Promise<void> | undefined;
  let stopped = false;

  function onAck(text: string): void {
    const ack = parseRevocationAck(text);
    if (ack) waiters.get(ack.id)?.(ack.replica);
    else logger.warn({ length: text.length }, 'ignored malformed revocation ack');
  }

  // The epoch is set only if no flush hit Redis since this seed began (its marker survived), and
  // only if absent (NX): after a restart the first complete seed wins, and an auth replica whose
  // connection merely blipped does not make every process reload.
  async function seedOnce(): Promise<boolean> {
    const marker = `${keys.seedMarker}${randomUUID()}`;
    await redis.set(marker, '1', 'PX', SEED_MARKER_TTL_MS);
    const entries = await options.loadRevoked(new Date(clock.now() - options.retainAfterExpMs));
    for (let i = 0; i < entries.length; i += SEED_CHUNK) {
      const args = entries.slice(i, i + SEED_CHUNK).flatMap((e) => [e.exp, e.sid]);
      await redis.zadd(keys.snapshot, 'GT', ...args);
    }
    const candidate = randomUUID();
    const outcome = await redis.eval(
      SEED_COMMIT,
      2,
      marker,
      keys.epoch,
      candidate,
      keys.channel,
      String(clock.now()),
    );
    if (outcome === -1) return false;
    logger.info(
      {
        event: 'revocation.seeded',
        entries: entries.length,
        epoch_created: outcome === 1 ? candidate : false,
      },
      'revocation snapshot seeded',
    );
    return true;
  }

  async function seed(): Promise<void> {
    for (let attempt = 1; !(await seedOnce()); attempt++) {
      logger.warn({ attempt }, 'Redis lost its data during the revocation seed; seeding again');
      if (attempt >= MAX_SEED_ROUNDS) throw new Error(`Redis lost its data during ${attempt} seeds in a row`);
    }
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

  function beat(): void {
    redis.eval(HEARTBEAT, 1, keys.epoch, keys.channel, String(clock.now())).then(
      (sent) => {
        // A flushed Redis with live connections: nothing else would notice (no reconnect).
        if (sent === 0) reseedUntilDone('epoch marker missing');
      },
      (err: unknown) => logger.warn({ err: (err as Error).message }, 'revocation heartbeat failed'),
    );
  }

  /** Waits for `expected` replicas' acks (unless the registry is young) or lease + skew. */
  function awaitAcks(
    id: string,
    expected: Set<string>,
    youngRegistry: boolean,
    publishedMono: number,
  ): Promise<RevocationAckOutcome> {
    return new Promise((resolve) => {
      const outcome = (by: RevocationAckOutcome['by']): RevocationAckOutcome => ({
        by,
        missing: [...expected],
        youngRegistry,
        waitedMs: clock.monotonic() - publishedMono,
      });
      if (!youngRegistry && expected.size === 0) {
        waiters.delete(id);
        resolve(outcome('acks'));
        return;
      }
      // The lease is counted from when the publish is known to have happened, never from before it.
      const timer = setTimeout(() => finish('lease'), waitMs);
      const finish = (by: RevocationAckOutcome['by']) => {
        clearTimeout(timer);
        waiters.delete(id);
        resolve(outcome(by));
      };
      waiters.set(id, (replica) => {
        if (replica === STOPPED) return finish('stopped');
        expected.delete(replica);
        if (!youngRegistry && expected.size === 0) finish('acks');
      });
    });
  }

  async function send(entries: RevocationEntry[], awaitAcknowledgements: boolean): Promise<RevocationSent> {
    const id = randomUUID();
    // Acks can arrive before the script's reply: collect them from before the publish on.
    const early = new Set<string>();
    waiters.set(id, (replica) => {
      if (replica !== STOPPED) early.add(replica);
    });
    let reply: z.infer<typeof publishReply>;
    try {
      reply = publishReply.parse(
        await redis.eval(
          PUBLISH_REVOKE,
          3,
          keys.snapshot,
          keys.replicas,
          keys.registryBorn,
          keys.channel,
          JSON.stringify({ type: 'revoke', id, sent_at: clock.now(), entries }),
          clock.now() - options.skewMs,
          waitMs,
          ...entries.flatMap((e) => [e.exp, e.sid]),
        ),
      );
    } catch (err) {
      waiters.delete(id);
      throw err;
    }
    const publishedMono = clock.monotonic();
    const [young, registered] = reply;
    if (!awaitAcknowledgements) {
      waiters.delete(id);
      return {
        acknowledged: Promise.resolve({ by: 'acks', missing: [], youngRegistry: false, waitedMs: 0 }),
      };
    }
    const expected = new Set(registered.filter((replica) => !early.has(replica)));
    const acknowledged = awaitAcks(id, expected, young === 1, publishedMono).then((outcome) => {
      if (outcome.missing.length > 0) {
        logger.warn(
          { missing: outcome.missing, waited_ms: Math.round(outcome.waitedMs) },
          'revocation not acknowledged by every replica; lease elapsed',
        );
      }
      return outcome;
    });
    return { acknowledged };
  }

  return {
    async start() {
      await clients.onChannel(keys.ackChannel, onAck);
      await seed();
      redis.on('ready', () => reseedUntilDone('redis reconnect'));
      // On Redis Cluster a failover keeps the connection ready, but replication is asynchronous: the
      // promoted replica may lack the newest snapshot entries. The entries are in Postgres, so a
      // node leaving the topology (ioredis's slots refresh after a promotion) re-seeds them.
      redis.on('-node', () => reseedUntilDone('redis cluster topology change'));
      heartbeat = setInterval(beat, options.leaseMs / 4);
      heartbeat.unref();
    },

    stop() {
      stopped = true;
      if (heartbeat) clearInterval(heartbeat);
      for (const resolve of waiters.values()) resolve(STOPPED);
    },

    send: (entries) => send(entries, true),

    deliver: async (entries) => {
      await send(entries, false);
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

    awaitingAcks: () => waiters.size,
  };
}
