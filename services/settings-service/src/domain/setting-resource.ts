import {
  effectiveValue,
  maskSettingValue,
  MASKED_SETTING_VALUE,
  type DerivedFacts,
  type SettingDefinition,
  type SettingSource,
} from '@concord/common';
import type { VersionState } from './preconditions';
import type { HistoryRecord, StoredSetting } from './settings.ports';

/** What a sensitive value is shown as, everywhere (responses, history, events, logs). */
export const MASKED = MASKED_SETTING_VALUE;

export type { SettingSource };

/** A setting as the API shows it: the contract of DESIGN.md section 5, member for member. */
export interface SettingResource {
  namespace: string;
  key: string;
  value: unknown;
  source: SettingSource;
  revision: number;
  updated_at: string | null;
  updated_by: string | null;
  restart_required: boolean;
  sensitive: boolean;
  writable: boolean;
  description: string;
}

/** A history entry as the API shows it. */
export interface HistoryItem {
  revision: number;
  namespace: string;
  key: string;
  op: 'set' | 'reset';
  old_value: unknown;
  new_value: unknown;
  updated_by: string;
  updated_at: string;
  request_id: string;
}

/** Masks a sensitive value; null ("at the default") stays null, it gives nothing away. */
export const maskValue = maskSettingValue;

/** Inputs of {@link resolveSetting}. */
export interface ResolveInput {
  namespace: string;
  def: SettingDefinition;
  row: StoredSetting | undefined;
  /** The value this process's environment pins for the key, if any. */
  envValue?: unknown;
  facts?: DerivedFacts;
}

/**
 * The effective value and its source. Restart keys: env > stored > default (a process reads them
 * once, at start, and its environment wins). Live keys: stored > env > default (the env value is
 * only the process's default). A tombstone counts as "not stored".
 */
export function resolveSetting(input: ResolveInput): { resource: SettingResource; state: VersionState } {
  const { def, row } = input;
  const stored = row !== undefined && row.value !== null ? { value: row.value } : undefined;
  let value: unknown;
  let source: SettingSource;
  let revision = row?.revision ?? 0;
  if (def.derive) {
    value = def.derive(input.facts ?? { usersExist: false });
    // Derived keys have no row and no revision of their own. A strong validator must change
    // whenever the representation does, so the revision is 0 at the default and 1 otherwise:
    // `If-None-Match: "0"` can never answer 304 for setup_complete once it has turned true.
    revision = value === def.default ? 0 : 1;
    source = revision === 0 ? 'default' : 'stored';
  } else {
    ({ value, source } = effectiveValue(def, { stored: stored?.value, env: input.envValue }));
  }
  return {
    resource: {
      namespace: input.namespace,
      key: def.key,
      value: maskValue(def, value),
      source,
      revision,
      updated_at: row ? row.updatedAt.toISOString() : null,
      updated_by: row ? row.updatedBy : null,
      restart_required: def.restartRequired,
      sensitive: def.sensitive,
      writable: def.writable,
      description: def.description,
    },
    state: { revision, atDefault: def.derive ? revision === 0 : stored === undefined },
  };
}

/** A history row as the API shows it, masked. */
export function historyItem(def: SettingDefinition, record: HistoryRecord): HistoryItem {
  return {
    revision: record.revision,
    namespace: record.namespace,
    key: record.key,
    op: record.op,
    old_value: maskValue(def, record.oldValue),
    new_value: maskValue(def, record.newValue),
    updated_by: record.updatedBy,
    updated_at: record.updatedAt.toISOString(),
    request_id: record.requestId,
  };
}
