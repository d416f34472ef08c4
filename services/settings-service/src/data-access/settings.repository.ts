import { parseCursor, toPage } from '@concord/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { HistoryRecord, SettingsStore } from '../domain/settings.ports';
import { createSettingsCas, type SettingsEvents } from './settings-cas';
import { readSetting, readSettings } from './settings-rows';

/**
 * History pages' keyset position: the last revision shown, as `rev|<revision>`. Revisions come from
 * one bigint sequence; 15 digits stay exact in a JS number.
 */
const revisionCursor = z
  .tuple([z.literal('rev'), z.string().regex(/^[1-9][0-9]{0,14}$/)])
  .transform(([, revision]) => Number(revision));

function toHistoryRecord(row: Record<string, unknown>): HistoryRecord {
  return {
    revision: Number(row.revision),
    namespace: row.namespace as string,
    key: row.key as string,
    op: row.op as HistoryRecord['op'],
    oldValue: row.old_value,
    newValue: row.new_value,
    updatedBy: row.updated_by as string,
    updatedAt: row.updated_at as Date,
    requestId: row.request_id as string,
  };
}

/**
 * {@link SettingsStore} over raw `pg` with parameterized SQL: these are the hot paths (a Prisma
 * Client round trip measured about 4x slower than pg for the CAS), and the CAS is one hand-written
 * statement anyway. `events: 'outbox'` adds the `settings.changed` outbox row to that statement.
 */
export function createSettingsRepository(pool: Pool, options: { events: SettingsEvents }): SettingsStore {
  const cas = createSettingsCas(pool, options.events);
  return {
    read: (namespace, key) => readSetting(pool, namespace, key),
    list: (namespace) => readSettings(pool, namespace),
    async history({ namespace, key, limit, cursor }) {
      const before = parseCursor(cursor, revisionCursor) ?? null;
      // Keyset page on the (namespace, key, revision) index, newest first. Writes of one key are
      // serialised by its row lock, so its revisions commit in order and no page can miss one.
      const result = await pool.query(
        `SELECT revision::text AS revision, namespace, key, op, old_value, new_value, updated_by, updated_at, request_id
           FROM settings_history
          WHERE namespace = $1 AND key = $2 AND ($3::bigint IS NULL OR revision < $3::bigint)
          ORDER BY revision DESC
          LIMIT $4`,
        [namespace, key, before, limit + 1],
      );
      return toPage(
        result.rows.map((row) => toHistoryRecord(row as Record<string, unknown>)),
        limit,
        (record) => ['rev', record.revision],
      );
    },
    async usersExist() {
      const result = await pool.query('SELECT EXISTS (SELECT 1 FROM users) AS exists');
      return (result.rows[0] as { exists: boolean }).exists;
    },
    change: cas.change,
    changeAll: cas.changeAll,
  };
}
