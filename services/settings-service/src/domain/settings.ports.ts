import type { Page } from '@concord/common';
import type { WriteCondition } from './preconditions';

/** A row of `settings`; `value` null is a tombstone (reset to the default). */
export interface StoredSetting {
  namespace: string;
  key: string;
  value: unknown;
  revision: number;
  updatedAt: Date;
  updatedBy: string;
}

/** A row of `settings_history`. */
export interface HistoryRecord {
  revision: number;
  namespace: string;
  key: string;
  op: 'set' | 'reset';
  oldValue: unknown;
  newValue: unknown;
  updatedBy: string;
  updatedAt: Date;
  requestId: string;
}

/** One key's change: `value` null resets to the default (a tombstone with a new revision). */
export interface SettingChange {
  namespace: string;
  key: string;
  value: unknown;
  /** `value` as the `settings.changed` event shows it: masked when the key is sensitive. */
  eventValue: unknown;
  condition: WriteCondition;
  updatedBy: string;
  requestId: string;
}

/** A change the statement applied, or the current row (if any) of a key whose condition failed. */
export type ChangeOutcome =
  { applied: true; row: StoredSetting } | { applied: false; current: StoredSetting | undefined };

/**
 * Checked inside the batch transaction on the state the changes produced, before commit (cross-key
 * rules); throwing rolls everything back. `rows` are the current rows of `keys`.
 */
export interface BatchGuard {
  namespace: string;
  keys: readonly string[];
  check(rows: readonly StoredSetting[]): void;
}

/** What a batch did: everything, or nothing and the keys whose condition failed. */
export type BatchOutcome =
  | { applied: true; rows: StoredSetting[] }
  | { applied: false; stale: { key: string; current: StoredSetting | undefined }[] };

/** A page of a keyset-paginated list (libs/common's keyset page). */
export type { Page };

/** The storage the settings domain needs (Postgres in production). */
export interface SettingsStore {
  read(namespace: string, key: string): Promise<StoredSetting | undefined>;
  list(namespace: string): Promise<StoredSetting[]>;
  /** Newest first; `cursor` is an opaque value from a previous page (422 when not one). */
  history(query: {
    namespace: string;
    key: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<HistoryRecord>>;
  usersExist(): Promise<boolean>;
  /** One key: the precondition and the write are one statement (never check-then-act). */
  change(change: SettingChange): Promise<ChangeOutcome>;
  /** All or nothing in one transaction; each change's precondition is checked in its own statement. */
  changeAll(changes: readonly SettingChange[], guard?: BatchGuard): Promise<BatchOutcome>;
}
