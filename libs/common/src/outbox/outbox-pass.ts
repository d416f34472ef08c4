import type { Pool } from 'pg';
import { OUTBOX_TABLE } from './outbox';
import type { OutboxDelivery, OutboxHandler, OutboxRelayOptions } from './outbox-relay';

/** What one pass needs: the relay's options, defaults applied. */
export type OutboxPassOptions = Required<
  Pick<OutboxRelayOptions, 'pool' | 'handlers' | 'claimAfterMs' | 'batchSize' | 'retry' | 'deliveryTimeoutMs'>
>;

/** The rows one pass delivered and the ones it rescheduled (with their error). */
export interface OutboxPassResult {
  claimed: number;
  delivered: OutboxDelivery[];
  failed: { delivery: OutboxDelivery; error: string }[];
}

interface ClaimedRow {
  id: string;
  topic: string;
  payload: unknown;
  created_at: Date;
  attempts: number;
}

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

const MARK_DELIVERED = `UPDATE ${OUTBOX_TABLE} SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])`;

const MARK_FAILED = `
  UPDATE ${OUTBOX_TABLE} o
     SET attempts = o.attempts + 1, last_error = f.error,
         available_at = clock_timestamp()
           + make_interval(secs => least($3::float8 * power(2, least(o.attempts, 30)), $4::float8) / 1000)
    FROM unnest($1::bigint[], $2::text[]) AS f(id, error)
   WHERE o.id = f.id`;

/** Resolves with the failure's message, or undefined once delivered. */
async function deliver(
  handler: OutboxHandler,
  delivery: OutboxDelivery,
  timeoutMs: number,
): Promise<string | undefined> {
  let timeout: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timeout = setTimeout(() => reject(new Error(`delivery timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => handler(delivery)), expired]);
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).slice(0, LAST_ERROR_MAX);
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * One claim-deliver-mark pass in one transaction: due rows of the handlers' topics are claimed
 * `FOR UPDATE SKIP LOCKED` (rows another relay holds are skipped, not waited for), delivered
 * concurrently, then marked published or rescheduled with backoff `min(base · 2^failures, max)`.
 */
export async function runOutboxPass(options: OutboxPassOptions): Promise<OutboxPassResult> {
  const client = await options.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<ClaimedRow>(CLAIM, [
      Object.keys(options.handlers),
      options.claimAfterMs,
      options.batchSize,
    ]);
    const deliveries = rows.map((r): OutboxDelivery => ({
      id: r.id,
      topic: r.topic,
      payload: r.payload,
      createdAt: r.created_at,
      attempts: r.attempts,
    }));
    const errors = await Promise.all(
      deliveries.map((d) => deliver(options.handlers[d.topic]!, d, options.deliveryTimeoutMs)),
    );
    const delivered = deliveries.filter((_, i) => errors[i] === undefined);
    const failed = deliveries.flatMap((delivery, i) =>
      errors[i] === undefined ? [] : [{ delivery, error: errors[i]! }],
    );
    if (delivered.length > 0) await client.query(MARK_DELIVERED, [delivered.map((d) => d.id)]);
    if (failed.length > 0) {
      await client.query(MARK_FAILED, [
        failed.map((f) => f.delivery.id),
        failed.map((f) => f.error),
        options.retry.baseMs,
        options.retry.maxMs,
      ]);
    }
    await client.query('COMMIT');
    return { claimed: rows.length, delivered, failed };
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      // The connection is unusable: destroy it rather than return it to the pool.
      broken = rollbackError as Error;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Unpublished rows per topic and the age (ms, database clock) of each topic's oldest. */
export async function queryOutboxBacklog(
  pool: Pool,
  topics: string[],
): Promise<{ topic: string; pending: number; oldestAgeMs: number }[]> {
  const { rows } = await pool.query<{ topic: string; pending: number; oldest_age_ms: number }>(
    `SELECT topic, count(*)::int AS pending,
            extract(epoch FROM clock_timestamp() - min(created_at))::float8 * 1000 AS oldest_age_ms
       FROM ${OUTBOX_TABLE} WHERE published_at IS NULL AND topic = ANY($1::text[]) GROUP BY topic`,
    [topics],
  );
  return rows.map((r) => ({ topic: r.topic, pending: r.pending, oldestAgeMs: Math.max(0, r.oldest_age_ms) }));
}

/** Deletes rows of `topics` published more than `retentionMs` ago, in batches; returns how many. */
export async function deletePublishedOutboxRows(
  pool: Pool,
  topics: string[],
  retentionMs: number,
): Promise<number> {
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
