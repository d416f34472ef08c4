import { AppError, type FieldError, type SettingDefinition } from '@concord/common';
import { etagOf, parseTagCondition, toWriteCondition, type Preconditions } from './preconditions';
import { assertMayWrite } from './setting-access';
import { maskValue, type SettingResource } from './setting-resource';
import { resolveWith } from './settings-reader';
import type { SettingChange } from './settings.ports';
import {
  guardFor,
  invalid,
  parseValue,
  requireCondition,
  type WriteContext,
  type Writer,
} from './write-rules';

/** One item of a PATCH: `value` null resets the key; `ifMatch` is an If-Match field value. */
export interface BatchItem {
  key: string;
  value: unknown;
  ifMatch?: string;
}

/** PATCH /settings/{ns}. */
export interface PatchSettingsInput {
  namespace: string;
  items: readonly BatchItem[];
  writer: Writer;
}

function changesOf(
  input: PatchSettingsInput,
  defs: ReadonlyMap<string, SettingDefinition>,
): { changes: SettingChange[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const changes = input.items.map((item, i): SettingChange => {
    const def = defs.get(item.key)!;
    let value: unknown = null;
    if (item.value !== null) {
      const parsed = parseValue(def, item.value, `items.${i}.value`);
      errors.push(...parsed.errors);
      value = parsed.value;
    }
    let preconditions: Preconditions = {};
    if (item.ifMatch !== undefined) {
      try {
        preconditions = { ifMatch: parseTagCondition('if_match', item.ifMatch) };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        // In the body it is content, not a header: 422 with the item's path, not 400.
        errors.push({ path: `items.${i}.if_match`, message: err.errors?.[0]?.message ?? err.detail });
      }
    }
    return {
      namespace: input.namespace,
      key: item.key,
      value,
      eventValue: maskValue(def, value),
      condition: toWriteCondition(preconditions),
      updatedBy: input.writer.sub,
      requestId: input.writer.requestId,
    };
  });
  return { changes, errors };
}

/**
 * All or nothing: every item's precondition is checked by its own statement inside one transaction;
 * one stale item rolls everything back and the 412 lists every stale key with its current ETag.
 * Cross-key rules are checked on the state the whole batch produces, so a certificate and its key
 * change together.
 */
export async function patchSettings(
  ctx: WriteContext,
  input: PatchSettingsInput,
): Promise<(SettingResource & { etag: string })[]> {
  const { namespace, items, writer } = input;
  ctx.registry.namespace(namespace);
  const keys = new Set<string>();
  const duplicates: FieldError[] = [];
  items.forEach((item, i) => {
    if (keys.has(item.key))
      duplicates.push({ path: `items.${i}.key`, message: 'the same key twice in one batch' });
    keys.add(item.key);
  });
  if (duplicates.length > 0) throw invalid(duplicates, 'The batch is invalid');
  const defs = new Map<string, SettingDefinition>();
  for (const item of items) {
    const def = ctx.registry.setting(namespace, item.key);
    assertMayWrite(namespace, def, writer.role);
    defs.set(item.key, def);
  }
  const { changes, errors } = changesOf(input, defs);
  if (errors.length > 0) throw invalid(errors, 'The batch is invalid');
  const unconditional = items.filter((item) => item.ifMatch === undefined).map((item) => item.key);
  requireCondition(ctx, unconditional.length === 0, `Writing ${unconditional.join(', ')}`);

  // One lock order for every batch (by key), so two batches over the same keys never deadlock.
  const ordered = [...changes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const outcome = await ctx.store.changeAll(ordered, guardFor(ctx, namespace, [...keys]));
  if (!outcome.applied) {
    const stale = await Promise.all(
      outcome.stale.map(async ({ key, current }) => {
        const { resource } = await resolveWith(ctx, { namespace, def: defs.get(key)!, row: current });
        return { key, etag: etagOf(resource.revision), setting: resource };
      }),
    );
    const names = stale.map((s) => s.key).join(', ');
    throw new AppError('VERSION_CONFLICT', `The precondition failed for ${names}; nothing was written`, {
      data: { stale },
    });
  }
  const rows = new Map(outcome.rows.map((row) => [row.key, row]));
  return Promise.all(
    items.map(async (item) => {
      const def = defs.get(item.key)!;
      const { resource } = await resolveWith(ctx, { namespace, def, row: rows.get(item.key) });
      return { ...resource, etag: etagOf(resource.revision) };
    }),
  );
}
