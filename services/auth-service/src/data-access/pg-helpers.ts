import type { Pool, PoolClient } from 'pg';
import type { Cursor, Page } from '../domain/auth.model';

/** Runs `fn` in a transaction, rolling back on any error (which is rethrown). */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
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
    client.release(broken);
  }
}

/** Builds a keyset page from `limit + 1` rows ordered by (created_at, id) descending. */
export function toPage<R extends { createdAt: Date; id: string }>(rows: R[], limit: number): Page<R> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}

/** Opaque cursor: base64url of `created_at|id`. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

/** Parses a cursor; undefined when it is not one of ours. */
export function decodeCursor(text: string): Cursor | undefined {
  const [iso, id] = Buffer.from(text, 'base64url').toString().split('|');
  const createdAt = new Date(iso ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) return undefined;
  return { createdAt, id };
}
