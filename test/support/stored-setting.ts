import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

/** `settings.changed` data as settings-service publishes it (libs/common settings-events.ts). */
export interface StoredChange {
  namespace: string;
  key: string;
  value: unknown;
  etag: string;
  revision: number;
  updated_by: string;
  updated_at: string;
}

/**
 * Writes a `settings` row the way settings-service's CAS does (a new revision from the one global
 * sequence; `null` is a reset's tombstone) and returns the change it would announce. For tests of
 * the consumers, which must not depend on settings-service running.
 */
export async function storeSetting(
  pool: Pick<Pool, 'query'>,
  change: { key: string; value: unknown; namespace?: string },
): Promise<StoredChange> {
  const namespace = change.namespace ?? 'api';
  const { rows } = await pool.query<{ revision: string; updated_at: Date; updated_by: string }>(
    `INSERT INTO settings (namespace, key, value, revision, updated_by)
     VALUES ($1, $2, $3::jsonb, nextval('settings_revision_seq'), $4)
     ON CONFLICT (namespace, key) DO UPDATE
       SET value = EXCLUDED.value, revision = EXCLUDED.revision, updated_by = EXCLUDED.updated_by,
           updated_at = now()
     RETURNING revision::text AS revision, updated_at, updated_by`,
    [namespace, change.key, change.value === null ? null : JSON.stringify(change.value), randomUUID()],
  );
  const row = rows[0]!;
  return {
    namespace,
    key: change.key,
    value: change.value,
    etag: `"${row.revision}"`,
    revision: Number(row.revision),
    updated_by: row.updated_by,
    updated_at: row.updated_at.toISOString(),
  };
}

/** Publishes `data` in the events envelope on `{prefix}events`. */
export async function publishChange(
  redis: Pick<Redis, 'publish'>,
  prefix: string,
  data: StoredChange,
): Promise<void> {
  await redis.publish(`${prefix}events`, JSON.stringify({ type: 'settings.changed', data }));
}

/** Resolves once `predicate` holds (polling); rejects after `timeoutMs`, a generous bound. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
