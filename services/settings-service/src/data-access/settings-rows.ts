import type { QueryResult } from 'pg';
import type { StoredSetting } from '../domain/settings.ports';

/**
 * A pool or a client inside a transaction. A query with a `name` is prepared once per connection
 * and then only bound and executed: the hot statements (one key's read, the CAS) skip Postgres's
 * parse and plan on every call after the first.
 */
export interface Queryable {
  query(text: string, params?: unknown[]): Promise<QueryResult>;
  query(config: { name: string; text: string; values: unknown[] }): Promise<QueryResult>;
}

const COLUMNS = 'namespace, key, value, revision::text AS revision, updated_at, updated_by';

/** Maps a `settings` row (revision read as text: bigint exceeds what pg parses to a number). */
export function toStoredSetting(row: Record<string, unknown>): StoredSetting {
  return {
    namespace: row.namespace as string,
    key: row.key as string,
    value: row.value,
    revision: Number(row.revision),
    updatedAt: row.updated_at as Date,
    updatedBy: row.updated_by as string,
  };
}

/** One key's row, tombstone included. */
export async function readSetting(
  db: Queryable,
  namespace: string,
  key: string,
): Promise<StoredSetting | undefined> {
  const result = await db.query({
    name: 'settings-read-one',
    text: `SELECT ${COLUMNS} FROM settings WHERE namespace = $1 AND key = $2`,
    values: [namespace, key],
  });
  const row = result.rows[0] as Record<string, unknown> | undefined;
  return row ? toStoredSetting(row) : undefined;
}

/** The rows of `keys` (all of the namespace when omitted), by key. */
export async function readSettings(
  db: Queryable,
  namespace: string,
  keys?: readonly string[],
): Promise<StoredSetting[]> {
  const result =
    keys === undefined
      ? await db.query(`SELECT ${COLUMNS} FROM settings WHERE namespace = $1 ORDER BY key`, [namespace])
      : await db.query(
          `SELECT ${COLUMNS} FROM settings WHERE namespace = $1 AND key = ANY($2) ORDER BY key`,
          [namespace, keys],
        );
  return result.rows.map((row) => toStoredSetting(row as Record<string, unknown>));
}
