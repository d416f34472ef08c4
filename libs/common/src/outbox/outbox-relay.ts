import type { Pool } from 'pg';
import type { Logger } from '../logging/logger';
import { systemClock, type Clock } from '../ops/clock';
import { deletePublishedOutboxRows, queryOutboxBacklog, runOutboxPass } from './outbox-pass';

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

const DAY_MS = 86_400_000;

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

  async function runOnce(): Promise<OutboxPass> {
    const result = await runOutboxPass({
      pool,
      handlers,
      claimAfterMs,
      batchSize,
      retry: options.retry,
      deliveryTimeoutMs: options.deliveryTimeoutMs,
    });
    const { delivered, failed } = result;
    if (delivered.length > 0) {
      const oldest = Math.min(...delivered.map((d) => d.createdAt.getTime()));
      logger.info(
        {
          event: 'outbox.delivered',
          rows: delivered.length,
          topics: [...new Set(delivered.map((d) => d.topic))],
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
          ids: failed.map((f) => f.delivery.id),
          error: failed[0]!.error,
        },
        'outbox delivery failed; the rows are retried with backoff',
      );
    }
    return { claimed: result.claimed, delivered: delivered.length, failed: failed.length };
  }

  async function refreshBacklog(): Promise<void> {
    const rows = await queryOutboxBacklog(pool, topics);
    const atMono = clock.monotonic();
    backlogs.clear();
    for (const row of rows) backlogs.set(row.topic, { ...row, atMono });
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

  const cleanup = () => deletePublishedOutboxRows(pool, topics, retentionMs);

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
