import {
  AppError,
  zodFieldErrors,
  type FieldError,
  type Role,
  type CrossKeyRule,
  type SettingDefinition,
} from '@concord/common';
import type { SettingsContext } from './settings-reader';
import type { BatchGuard, StoredSetting } from './settings.ports';

/** Who writes, and the request the change is recorded under. */
export interface Writer {
  sub: string;
  role: Role;
  requestId: string;
}

/** What the write use cases need. */
export interface WriteContext extends SettingsContext {
  /** `SETTINGS_REQUIRE_IF_MATCH`: a write without a precondition answers 428. */
  requireIfMatch: boolean;
}

/** 422 (2000) with field errors. */
export function invalid(errors: FieldError[], detail = 'The value is invalid'): AppError {
  return new AppError('VALIDATION_ERROR', detail, { errors });
}

/** 428 (4003) when the policy requires a precondition and `conditional` is false. */
export function requireCondition(ctx: WriteContext, conditional: boolean, what: string): void {
  if (ctx.requireIfMatch && !conditional) {
    throw new AppError('PRECONDITION_REQUIRED', `${what} requires If-Match (SETTINGS_REQUIRE_IF_MATCH)`);
  }
}

/** Validates a new value against the key's schema; field paths start at `path`. */
export function parseValue(
  def: SettingDefinition,
  value: unknown,
  path: string,
): { value?: unknown; errors: FieldError[] } {
  const parsed = def.schema.safeParse(value);
  if (parsed.success) return { value: parsed.data, errors: [] };
  return {
    errors: zodFieldErrors(parsed.error).map((e) => ({
      path: e.path === '$' ? path : `${path}.${e.path}`,
      message: e.message,
    })),
  };
}

/**
 * The cross-key rules of the keys written, as a guard the store checks inside the transaction on
 * the rows as they are after the changes (stored value, or the default where none is stored).
 */
export function guardFor(
  ctx: SettingsContext,
  namespace: string,
  keys: readonly string[],
): BatchGuard | undefined {
  const rules = new Set<CrossKeyRule>();
  for (const key of keys) for (const rule of ctx.registry.rulesOf(namespace, key)) rules.add(rule);
  if (rules.size === 0) return undefined;
  const ruleKeys = [...new Set([...rules].flatMap((rule) => rule.keys))];
  return {
    namespace,
    keys: ruleKeys,
    check(rows: readonly StoredSetting[]) {
      const values: Record<string, unknown> = {};
      for (const key of ruleKeys) {
        const row = rows.find((candidate) => candidate.key === key);
        values[key] = row && row.value !== null ? row.value : ctx.registry.setting(namespace, key).default;
      }
      const errors = [...rules].flatMap((rule) => rule.check(values));
      if (errors.length > 0) throw invalid(errors, 'The resulting settings break a cross-key rule');
    },
  };
}
