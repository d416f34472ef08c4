import { isConditional, toWriteCondition, type Preconditions } from './preconditions';
import { assertMayWrite } from './setting-access';
import { maskValue } from './setting-resource';
import { resolveWith, versionConflict, type ResolvedSetting } from './settings-reader';
import type { SettingChange, StoredSetting } from './settings.ports';
import {
  guardFor,
  invalid,
  parseValue,
  requireCondition,
  type WriteContext,
  type Writer,
} from './write-rules';

/** PUT (a value) or DELETE (`value` null: reset to the default) of one key. */
export interface WriteSettingInput {
  namespace: string;
  key: string;
  value: unknown;
  preconditions: Preconditions;
  writer: Writer;
}

/**
 * Writes one key: 404, then 403 (read-only or role), 422 (schema), 428 (policy), and the
 * compare-and-set itself, whose refusal is the 412. A key under a cross-key rule (the TLS pair) is
 * written in a guarded transaction so the rule is checked on the resulting state.
 */
export async function writeSetting(ctx: WriteContext, input: WriteSettingInput): Promise<ResolvedSetting> {
  const { namespace, key, writer } = input;
  const def = ctx.registry.setting(namespace, key);
  assertMayWrite(namespace, def, writer.role);
  let value: unknown = null;
  if (input.value !== null) {
    const parsed = parseValue(def, input.value, 'value');
    if (parsed.errors.length > 0) throw invalid(parsed.errors);
    value = parsed.value;
  }
  requireCondition(ctx, isConditional(input.preconditions), `Writing ${namespace}.${key}`);
  const change: SettingChange = {
    namespace,
    key,
    value,
    eventValue: maskValue(def, value),
    condition: toWriteCondition(input.preconditions),
    updatedBy: writer.sub,
    requestId: writer.requestId,
  };
  const guard = guardFor(ctx, namespace, [key]);
  let row: StoredSetting;
  if (guard) {
    const outcome = await ctx.store.changeAll([change], guard);
    if (!outcome.applied) {
      const current = outcome.stale[0]?.current;
      throw versionConflict(namespace, await resolveWith(ctx, { namespace, def, row: current }));
    }
    row = outcome.rows[0]!;
  } else {
    const outcome = await ctx.store.change(change);
    if (!outcome.applied) {
      throw versionConflict(namespace, await resolveWith(ctx, { namespace, def, row: outcome.current }));
    }
    row = outcome.row;
  }
  return resolveWith(ctx, { namespace, def, row });
}
