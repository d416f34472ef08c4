import { inTransaction } from '@concord/common';
import type { Pool, PoolClient } from 'pg';
import { conditionHolds } from '../domain/preconditions';
import type {
  BatchGuard,
  BatchOutcome,
  ChangeOutcome,
  SettingChange,
  StoredSetting,
} from '../domain/settings.ports';
import { readSetting, readSettings, toStoredSetting, type Queryable } from './settings-rows';

/** Where a committed change's `settings.changed` event goes (DESIGN.md section 5). */
export type SettingsEvents = 'outbox' | 'none';

/**
 * What every applied change records, as CTEs over `changed` (the new row) and `old` (the row before,
 * locked): RETURNING sees only the new values, so the old value comes from `old`. Being part of the
 * change's own statement, a record exists exactly when the change does, and a crash between commit
 * and publish loses no event: the outbox row is committed with the change and any replica's relay
 * delivers it.
 */
const HISTORY_CTE = `history AS (
    INSERT INTO settings_history (revision, namespace, key, op, old_value, new_value, updated_by, updated_at, request_id)
    SELECT c.revision, c.namespace, c.key, $10, (SELECT value FROM old), c.value, c.updated_by, c.updated_at, $11
      FROM changed c
  )`;

/**
 * The event as the relay publishes it on `{REDIS_PREFIX}events`: the shared envelope
 * `{type, data}` (libs/common settings-events.ts); `value` is masked by the domain ($12).
 */
const OUTBOX_CTE = `event AS (
    INSERT INTO outbox (topic, payload)
    SELECT 'settings.changed', jsonb_build_object('type', 'settings.changed', 'data', jsonb_build_object(
             'namespace', c.namespace, 'key', c.key, 'value', $12::jsonb,
             'etag', '"' || c.revision || '"', 'revision', c.revision, 'updated_by', c.updated_by,
             'updated_at', to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
      FROM changed c  )`;

/**
 * The compare-and-set of one key, one statement (docs/decisions/010-settings-cas.md):
 * - `old` locks the current row. FOR UPDATE waits for a concurrent writer and then yields the row
 *   as that writer committed it, so the old value recorded is the one really replaced.
 * - `inserted`: a key without a row is inserted only when the precondition holds for "no row"
 *   (`If-Match: "0"`, `*`, none); ON CONFLICT DO NOTHING makes a concurrent first insert the loser's
 *   412, never a second row.
 * - `updated`: `WHERE revision = ANY(...)` is evaluated on the locked, latest row version, so of
 *   two writers holding the same ETag exactly one matches; the other's statement matches nothing.
 * - Every change takes a new revision from the one global sequence: an ETag is never handed out
 *   twice, tombstones included (no ABA).
 * Exported for the settings benchmark, whose pgbench baseline runs this very text (test/load/pgbench.ts).
 */
export function casSql(events: SettingsEvents): string {
  const records = events === 'outbox' ? [HISTORY_CTE, OUTBOX_CTE] : [HISTORY_CTE];
  return `
WITH old AS (
  SELECT value, revision FROM settings WHERE namespace = $1 AND key = $2 FOR UPDATE
), inserted AS (
  INSERT INTO settings (namespace, key, value, revision, updated_at, updated_by)
  SELECT $1, $2, $3::jsonb, nextval('settings_revision_seq'), now(), $4
   WHERE $5::boolean AND NOT EXISTS (SELECT 1 FROM old)
  ON CONFLICT (namespace, key) DO NOTHING
  RETURNING namespace, key, value, revision, updated_at, updated_by
), updated AS (
  UPDATE settings s
     SET value = $3::jsonb, revision = nextval('settings_revision_seq'), updated_at = now(), updated_by = $4
    FROM old
   WHERE s.namespace = $1 AND s.key = $2
     AND ($6::boolean OR s.revision = ANY($7::bigint[]))
     AND NOT (s.revision = ANY($8::bigint[]))
     AND (NOT $9::boolean OR s.value IS NULL)
  RETURNING s.namespace, s.key, s.value, s.revision, s.updated_at, s.updated_by
), changed AS (
  SELECT * FROM inserted UNION ALL SELECT * FROM updated
), ${records.join(',\n')}
SELECT namespace, key, value, revision::text AS revision, updated_at, updated_by FROM changed`;
}

/** A statement that matched nothing is re-run at most this often (see {@link applyChange}). */
const MAX_ATTEMPTS = 3;

/** Advisory-lock class of batches guarded by cross-key rules (two-int form: its own key space). */
const GUARD_LOCK_CLASS = 0x5e77;

function json(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

function casParams(change: SettingChange, events: SettingsEvents): unknown[] {
  const c = change.condition;
  const params = [
    change.namespace,
    change.key,
    json(change.value),
    change.updatedBy,
    c.absent,
    c.anyRevision,
    c.revisions,
    c.notRevisions,
    c.tombstoneOnly,
    change.value === null ? 'reset' : 'set',
    change.requestId,
  ];
  return events === 'outbox' ? [...params, json(change.eventValue)] : params;
}

/**
 * Runs the CAS statement. When it matched nothing, the current row is read only to answer the 412
 * (the statement itself already refused the write). One case is re-run instead: a key's first
 * insert racing another first insert. The loser's snapshot predates the winner's row, so its
 * precondition was never evaluated against that row; since rows are never deleted, the re-run sees
 * it and decides for real (e.g. an unconditional write then succeeds, `If-Match: "0"` fails).
 */
async function applyChange(db: Queryable, sql: CasStatement, change: SettingChange): Promise<ChangeOutcome> {
  for (let attempt = 1; ; attempt++) {
    const result = await db.query({
      name: `settings-cas-${sql.events}`,
      text: sql.text,
      values: casParams(change, sql.events),
    });
    const row = result.rows[0] as Record<string, unknown> | undefined;
    if (row) return { applied: true, row: toStoredSetting(row) };
    const current = await readSetting(db, change.namespace, change.key);
    const state = {
      revision: current?.revision ?? 0,
      atDefault: current === undefined || current.value === null,
    };
    if (attempt < MAX_ATTEMPTS && conditionHolds(change.condition, state)) continue;
    return { applied: false, current };
  }
}

/** Thrown inside a batch transaction to roll it back; never leaves this module. */
class StaleBatch extends Error {
  constructor(readonly stale: { key: string; current: StoredSetting | undefined }[]) {
    super('stale batch');
  }
}

/** The statement text and the event target it was built for. */
interface CasStatement {
  text: string;
  events: SettingsEvents;
}

/** The writes of {@link SettingsStore}: one statement per key, batches in one transaction. */
export function createSettingsCas(pool: Pool, events: SettingsEvents) {
  const sql: CasStatement = { text: casSql(events), events };
  return {
    change: (change: SettingChange) => applyChange(pool, sql, change),

    async changeAll(changes: readonly SettingChange[], guard?: BatchGuard): Promise<BatchOutcome> {
      try {
        const rows = await inTransaction(pool, async (client: PoolClient) => {
          // Cross-key rules are checked on the state the batch produces. Without the lock two
          // batches could each pass on the state before the other (write skew): one resets the key
          // while the other sets a certificate, and the pair ends up half set.
          if (guard) {
            await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
              GUARD_LOCK_CLASS,
              guard.namespace,
            ]);
          }
          const applied: StoredSetting[] = [];
          const stale: { key: string; current: StoredSetting | undefined }[] = [];
          for (const change of changes) {
            const outcome = await applyChange(client, sql, change);
            if (outcome.applied) applied.push(outcome.row);
            else stale.push({ key: change.key, current: outcome.current });
          }
          if (stale.length > 0) throw new StaleBatch(stale);
          if (guard) guard.check(await readSettings(client, guard.namespace, guard.keys));
          return applied;
        });
        return { applied: true, rows };
      } catch (err) {
        if (err instanceof StaleBatch) return { applied: false, stale: err.stale };
        throw err;
      }
    },
  };
}
