import type { Pool } from 'pg';
import type { Logger } from '../logging/logger';
import { systemClock, type Clock } from '../ops/clock';
import { OUTBOX_TABLE } from './outbox';

/** A claimed outbox row, handed to its topic's callback. */
export interface OutboxDelivery {
  id: string;
  topic: string;
  /** The stored jsonb. Parse it (zod) in the callback like any message from outside the process. */
  payload: unknown;
  createdAt: Date;
  /** Failed attempts before this one. */
  attempts: number;
}

/**
 * Delivers one row: resolves once delivered, rejects to have it retried later. Must be idempotent:
 * a row may be delivered twice (by its writer and a relay, or by a relay that lost its database
 * connection after delivering and before marking it).
 */
export type OutboxHandler = (delivery: OutboxDelivery) => Promise<void>;

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  pool: Pool;
  /**
   * Topic → callback. A relay claims only rows of its own topics, so services that share the
   * database each deliver their own messages.
   */
  handlers: Readonly<Record<string, OutboxHandler>>;
  logger: Logger;
  /** Pause between passes once nothing (more) is due. */
  pollIntervalMs: number;
  /** Backoff of a failing row: `baseMs · 2^(failures − 1)`, never more than `maxMs`. */
  retry: { baseMs: number; maxMs: number };
  /** A callback that has not settled by then counts as failed, so a row lock is never held forever. */
  deliveryTimeoutMs: number;
  /** Rows are first claimed this long after they were written: the writer usually delivers them itself. Default 0. */
  claimAfterMs?: number;
  /** Rows claimed per pass (one transaction). Default 100. */
  batchSize?: number;
  /** Published rows are deleted this long after publication. Default one day. */
  retentionMs?: number;
  /** How often published rows past the retention are deleted. Default 10 minutes. */
  cleanupIntervalMs?: number;
  clock?: Clock;
}

/** Unpublished rows of one topic as of the relay's last pass. */
export interface OutboxBacklog {
  pending: number;
  /** Age of the oldest unpublished row, 0 when none (the outbox lag). */
  oldestAgeMs: number;
}

/** Outcome of one claim-deliver-mark pass. */
export interface OutboxPass {
  claimed: number;
  delivered: number;
  failed: number;
}

/** Delivers outbox rows after their commit (docs/decisions/009-outbox.md). */
export interface OutboxRelay {
  /** Starts passes every `pollIntervalMs` and the cleanup. */
  start(): void;
  /** Stops scheduling and waits for the pass in flight. */
  stop(): Promise<void>;
  /** Asks for a pass as soon as a row written now becomes claimable (after a failed direct delivery). */
  kick(): void;
  /** One pass: claims due rows `FOR UPDATE SKIP LOCKED`, delivers them, marks or reschedules each. */
  runOnce(): Promise<OutboxPass>;
  /** Deletes published rows past the retention; returns how many. */
  cleanup(): Promise<number>;
  backlog(topic: string): OutboxBacklog;
}

interface ClaimedRow {
  id: string;
  topic: string;
  payload: unknown;
  created_at: Date;
  attempts: number;
}

const DAY_MS = 86_400_000;
const CLEANUP_BATCH = 1_000;
const LAST_ERROR_MAX = 500;

// No ORDER BY on id as a cursor: ids are allocated before commit, so a lower id can become visible
// after a higher one; every unpublished row is simply eligible until it is marked.
const CLAIM = `
  SELECT id, topic, payload, created_at, attempts FROM ${OUTBOX_TABLE}
   WHERE published_at IS NULL AND topic = ANY($1::text[]) AND available_at <= clock_timestamp()
     AND created_at <= clock_timestamp() - make_interval(secs => $2::float8 / 1000)
   ORDER BY available_at, id
   LIMIT $3
   FOR UPDATE SKIP LOCKED`;

const MARK_FAILED = `
  UPDATE ${OUTBOX_TABLE} o
     SET attempts = o.attempts + 1, last_error = f.error,
         available_at = clock_timestamp()
           + make_interval(secs => least($3::float8 * power(2, least(o.attempts, 30)), $4::float8) / 1000)
    FROM unnest($1::bigint[], $2::text[]) AS f(id, error)
   WHERE o.id = f.id`;

/** Builds an {@link OutboxRelay}; every replica may run one, SKIP LOCKED keeps them apart. */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, handlers, logger, pollIntervalMs } = options;
  const clock = options.clock ?? systemClock;
  const topics = Object.keys(handlers);
  const batchSize = options.batchSize ?? 100;
  const claimAfterMs = options.claimAfterMs ?? 0;
  const retentionMs = options.retentionMs ?? DAY_MS;
  const backlogs = new Map<string, OutboxBacklog & { atMono: number }>();
  let timer: NodeJS.Timeout | undefined;
  let timerDueMono = Number.POSITIVE_INFINITY;
  let cleanupTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  /** Set while a pass runs and another was asked for: the delay before that next pass. */
  let rerunAfterMs = Number.POSITIVE_INFINITY;
  let stopped = true;

  /** Resolves with the failure's message, or undefined once delivered. */
  async function deliver(row: ClaimedRow): Promise<string | undefined> {
    let timeout: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () => reject(new Error(`delivery timed out after ${options.deliveryTimeoutMs} ms`)),
        options.deliveryTimeoutMs,
      );
    });
    const delivery: OutboxDelivery = {
      id: row.id,
      topic: row.topic,
      payload: row.payload,
      createdAt: row.created_at,
      attempts: row.attempts,
    };
    try {
      await Promise.race([Promise.resolve().then(() => handlers[row.topic]!(delivery)), expired]);
      return undefined;
    } catch (err) {
      return (err instanceof Error ? err.message : String(err)).slice(0, LAST_ERROR_MAX);
    } finally {
      clearTimeout(timeout);
    }
  }

  async function runOnce(): Promise<OutboxPass> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<ClaimedRow>(CLAIM, [topics, claimAfterMs, batchSize]);
      const errors = await Promise.all(rows.map(deliver));
      const delivered = rows.filter((_, i) => errors[i] === undefined);
      const failed = rows.flatMap((row, i) => (errors[i] === undefined ? [] : [{ row, error: errors[i]! }]));
      if (delivered.length > 0) {
        await client.query(
          `UPDATE ${OUTBOX_TABLE} SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])`,
          [delivered.map((r) => r.id)],
        );
      }
      if (failed.length > 0) {
        await client.query(MARK_FAILED, [
          failed.map((f) => f.row.id),
          failed.map((f) => f.error),
          options.retry.baseMs,
          options.retry.maxMs,
        ]);
      }
      await client.query('COMMIT');
      if (delivered.length > 0) {
        const oldest = Math.min(...delivered.map((r) => r.created_at.getTime()));
        logger.info(
          {
            event: 'outbox.delivered',
            rows: delivered.length,
            topics: [...new Set(delivered.map((r) => r.topic))],
            oldest_age_ms: Math.max(0, clock.now() - oldest),
          },
          'outbox relay delivered rows',
        );
      }
      if (failed.length > 0) {
        logger.warn(
          {
            event: 'outbox.failed',
            rows: failed.length,
            ids: failed.map((f) => f.row.id),
            error: failed[0]!.error,
          },
          'outbox delivery failed; the rows are retried with backoff',
        );
      }
      return { claimed: rows.length, delivered: delivered.length, failed: failed.length };
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError as Error;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async function refreshBacklog(): Promise<void> {
    const { rows } = await pool.query<{ topic: string; pending: number; oldest_age_ms: number }>(
      `SELECT topic, count(*)::int AS pending,
              extract(epoch FROM clock_timestamp() - min(created_at))::float8 * 1000 AS oldest_age_ms
         FROM ${OUTBOX_TABLE} WHERE published_at IS NULL AND topic = ANY($1::text[]) GROUP BY topic`,
      [topics],
    );
    const atMono = clock.monotonic();
    backlogs.clear();
    for (const row of rows) {
      backlogs.set(row.topic, { pending: row.pending, oldestAgeMs: Math.max(0, row.oldest_age_ms), atMono });
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    const dueMono = clock.monotonic() + delayMs;
    if (timer && timerDueMono <= dueMono) return;
    clearTimeout(timer);
    timerDueMono = dueMono;
    timer = setTimeout(() => {
      timer = undefined;
      timerDueMono = Number.POSITIVE_INFINITY;
      void pass();
    }, delayMs);
    timer.unref();
  }

  async function pass(): Promise<void> {
    if (running) {
      rerunAfterMs = 0;
      return;
    }
    let next = pollIntervalMs;
    running = (async () => {
      try {
        // A full batch means more may be due right now.
        if ((await runOnce()).claimed === batchSize) next = 0;
      } catch (err) {
        logger.warn({ err }, 'outbox relay pass failed; retrying');
      }
      await refreshBacklog().catch((err: unknown) => logger.warn({ err }, 'outbox backlog query failed'));
    })();
    await running;
    running = undefined;
    next = Math.min(next, rerunAfterMs);
    rerunAfterMs = Number.POSITIVE_INFINITY;
    schedule(next);
  }

  async function cleanup(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await pool.query(
        `DELETE FROM ${OUTBOX_TABLE} WHERE id IN (
           SELECT id FROM ${OUTBOX_TABLE}
            WHERE published_at < clock_timestamp() - make_interval(secs => $1::float8 / 1000)
              AND topic = ANY($2::text[])
            LIMIT $3 FOR UPDATE SKIP LOCKED)`,
        [retentionMs, topics, CLEANUP_BATCH],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < CLEANUP_BATCH) return total;
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
      cleanupTimer = setInterval(() => {
        cleanup().then(
          (n) =>
            n > 0 ? logger.info({ deleted: n }, 'outbox: deleted published rows past retention') : undefined,
          (err: unknown) => logger.warn({ err }, 'outbox cleanup failed'),
        );
      }, options.cleanupIntervalMs ?? 600_000);
      cleanupTimer.unref();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      clearInterval(cleanupTimer);
      await running;
    },
    kick() {
      if (running) rerunAfterMs = Math.min(rerunAfterMs, claimAfterMs);
      else schedule(claimAfterMs);
    },
    runOnce,
    cleanup,
    backlog(topic) {
      const known = backlogs.get(topic);
      if (!known || known.pending === 0) return { pending: 0, oldestAgeMs: 0 };
      // The age keeps growing between passes (and while the database cannot be asked).
      return { pending: known.pending, oldestAgeMs: known.oldestAgeMs + clock.monotonic() - known.atMono };
    },
  };
}
