import type { Pool } from 'pg';

/** A row of `settings` as a follower needs it; `value` null is a tombstone (reset). */
export interface StoredSettingRow {
  namespace: string;
  key: string;
  value: unknown;
  revision: number;
  updatedAt: Date;
  updatedBy: string | null;
}

/** Where a follower re-reads the stored state (Postgres, the source of truth). */
export interface StoredSettingsSource {
  /** Every row of `namespaces`, tombstones included (they carry the reset's revision). */
  read(namespaces: readonly string[]): Promise<StoredSettingRow[]>;
}

/**
 * {@link StoredSettingsSource} over the shared Postgres. Services read settings straight from it
 * (DESIGN.md section 5: no service calls settings-service); revision is read as text because bigint
 * exceeds what pg parses to a number.
 */
export function createStoredSettingsSource(pool: Pick<Pool, 'query'>): StoredSettingsSource {
  return {
    async read(namespaces) {
      const result = await pool.query<{
        namespace: string;
        key: string;
        value: unknown;
        revision: string;
        updated_at: Date;
        updated_by: string | null;
      }>(
        `SELECT namespace, key, value, revision::text AS revision, updated_at, updated_by
           FROM settings WHERE namespace = ANY($1::text[])`,
        [namespaces],
      );
      return result.rows.map((row) => ({
        namespace: row.namespace,
        key: row.key,
        value: row.value,
        revision: Number(row.revision),
        updatedAt: row.updated_at,
        updatedBy: row.updated_by,
      }));
    },
  };
}
