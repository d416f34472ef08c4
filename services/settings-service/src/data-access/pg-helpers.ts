import type { Pool, PoolClient } from 'pg';

// inTransaction and the cursor approach come from services/auth-service/src/data-access/pg-helpers.ts
// until the shared copy moves to libs/common (the lead's restructuring). One difference: the error
// listener below, which auth-service's copy lacks.

/** Runs `fn` in a transaction, rolling back on any error (which is rethrown). */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // pg-pool listens for errors only on idle clients. A checked-out client whose connection drops
  // (a failover, pg_terminate_backend) emits 'error', and with no listener that ends the process.
  // The failure still reaches the caller through the statement in flight or the next one.
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection is unusable: destroy it instead of returning it to the pool. The original
      // error is the one worth reporting, so it is the one rethrown.
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Builds a keyset page from `limit + 1` rows ordered by revision descending. */
export function toRevisionPage<R extends { revision: number }>(
  rows: R[],
  limit: number,
): { items: R[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeRevisionCursor(last.revision) : null };
}

/** Opaque cursor: base64url of `rev|<revision>` (the auth-service cursor approach, keyed by revision). */
export function encodeRevisionCursor(revision: number): string {
  return Buffer.from(`rev|${revision}`).toString('base64url');
}

/** Parses a cursor; undefined when it is not one of ours. */
export function decodeRevisionCursor(text: string): number | undefined {
  const match = /^rev\|([1-9][0-9]{0,14})$/.exec(Buffer.from(text, 'base64url').toString());
  return match ? Number(match[1]) : undefined;
}
