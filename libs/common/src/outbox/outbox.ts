import type { ClientBase } from 'pg';

/**
 * The transactional outbox (docs/decisions/009-outbox.md): a message is written in the same
 * transaction as the change it announces, and a relay on any replica delivers it after the commit.
 *
 * Table `outbox` (libs/db migration `20261201000100_outbox`):
 *
 * | column | meaning |
 * |---|---|
 * | `id bigserial` | identity only; rows commit out of order, so it is never used as a high-water mark |
 * | `topic text` | selects the relay callback (`revocation`, `settings.changed`, …) |
 * | `payload jsonb` | the message, as the topic's callback expects it |
 * | `created_at`, `available_at` | both default to the transaction's `now()`; `available_at` moves on a failed attempt |
 * | `attempts int`, `last_error text` | delivery failures so far |
 * | `published_at` | set once delivered; rows are deleted some time after |
 *
 * Inserting needs only `topic` and `payload`, so a single SQL statement can write its event beside
 * its change with a data-modifying CTE (both commit or neither does):
 *
 * ```sql
 * WITH changed AS (
 *   UPDATE settings SET value = $3, revision = nextval('settings_revision')
 *    WHERE namespace = $1 AND key = $2 AND revision = $4
 *   RETURNING namespace, key, value, revision, updated_at
 * ), event AS (
 *   INSERT INTO outbox (topic, payload)
 *   SELECT 'settings.changed', jsonb_build_object('namespace', namespace, 'key', key, 'value', value,
 *          'revision', revision, 'updated_at', updated_at) FROM changed
 * )
 * SELECT * FROM changed;
 * ```
 */
export const OUTBOX_TABLE = 'outbox';

/** One message to enqueue. */
export interface OutboxMessage {
  topic: string;
  /** Stored as jsonb; must survive `JSON.stringify`. */
  payload: unknown;
}

/** The part of a pg client the outbox helpers use: a pool or a client inside a transaction. */
export type OutboxQueryable = Pick<ClientBase, 'query'>;

/**
 * Enqueues `messages` through `client`; call it with the client of the caller's open transaction
 * so the messages commit (or roll back) with the change. Returns the new rows' ids.
 */
export async function enqueueOutbox(client: OutboxQueryable, messages: OutboxMessage[]): Promise<string[]> {
  if (messages.length === 0) return [];
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${OUTBOX_TABLE} (topic, payload)
     SELECT topic, payload FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS m(topic, payload, n)
      ORDER BY n
     RETURNING id`,
    [messages.map((m) => m.topic), messages.map((m) => JSON.stringify(m.payload))],
  );
  return rows.map((r) => r.id);
}

/**
 * Marks rows delivered by someone other than the relay (a request that published its own message
 * right after its commit). Rows a relay holds at this moment are skipped, never waited for: that
 * relay delivers them too, and a second delivery is harmless by contract (callbacks are idempotent).
 * Returns how many rows it marked.
 */
export async function markOutboxPublished(client: OutboxQueryable, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await client.query(
    `UPDATE ${OUTBOX_TABLE} SET published_at = clock_timestamp()
      WHERE id IN (SELECT id FROM ${OUTBOX_TABLE}
                    WHERE id = ANY($1::bigint[]) AND published_at IS NULL FOR UPDATE SKIP LOCKED)`,
    [ids],
  );
  return rowCount ?? 0;
}
