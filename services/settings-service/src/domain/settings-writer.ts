import { AppError, zodFieldErrors, type FieldError, type Role } from '@concord/common';
import {
  etagOf,
  isConditional,
  parseTagCondition,
  toWriteCondition,
  type Preconditions,
} from './preconditions';
import { assertMayWrite } from './setting-access';
import type { CrossKeyRule, SettingDefinition } from './setting-definition';
import { maskValue, type SettingResource } from './setting-resource';
import { resolveWith, versionConflict, type ResolvedSetting, type SettingsContext } from './settings-reader';
import type { BatchGuard, SettingChange, StoredSetting } from './settings.ports';

/** Who writes, and the request the change is recorded under. */
export interface Writer {
  sub: string;
  role: Role;
  requestId: string;
}

/** One item of a PATCH: `value` null resets the key; `ifMatch` is an If-Match field value. */
export interface BatchItem {
  key: string;
  value: unknown;
  ifMatch?: string;
}

/** Options of {@link createSettingsWriter}. */
export interface SettingsWriterOptions extends SettingsContext {
  /** `SETTINGS_REQUIRE_IF_MATCH`: a write without a precondition answers 428. */
  requireIfMatch: boolean;
}

/** The write side: PUT, DELETE (reset) and the all-or-nothing PATCH. */
export interface SettingsWriter {
  put(input: {
    namespace: string;
    key: string;
    value: unknown;
    preconditions: Preconditions;
    writer: Writer;
  }): Promise<ResolvedSetting>;
  reset(input: {
    namespace: string;
    key: string;
    preconditions: Preconditions;
    writer: Writer;
  }): Promise<ResolvedSetting>;
  patch(input: {
    namespace: string;
    items: readonly BatchItem[];
    writer: Writer;
  }): Promise<(SettingResource & { etag: string })[]>;
}

function invalid(errors: FieldError[], detail = 'The value is invalid'): AppError {
  return new AppError('VALIDATION_ERROR', detail, { errors });
}

/** Validates a new value against the key's schema; field paths start at `path`. */
function parseValue(
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
function guardFor(ctx: SettingsContext, namespace: string, keys: readonly string[]): BatchGuard | undefined {
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

/** Builds the write side over `options`. */
export function createSettingsWriter(options: SettingsWriterOptions): SettingsWriter {
  const ctx: SettingsContext = options;

  function requireCondition(conditional: boolean, what: string): void {
    if (options.requireIfMatch && !conditional) {
      throw new AppError('PRECONDITION_REQUIRED', `${what} requires If-Match (SETTINGS_REQUIRE_IF_MATCH)`);
    }
  }

  async function writeOne(input: {
    namespace: string;
    key: string;
    value: unknown;
    preconditions: Preconditions;
    writer: Writer;
  }): Promise<ResolvedSetting> {
    const { namespace, key, writer } = input;
    const def = ctx.registry.setting(namespace, key);
    assertMayWrite(namespace, def, writer.role);
    let value: unknown = null;
    if (input.value !== null) {
      const parsed = parseValue(def, input.value, 'value');
      if (parsed.errors.length > 0) throw invalid(parsed.errors);
      value = parsed.value;
    }
    requireCondition(isConditional(input.preconditions), `Writing ${namespace}.${key}`);
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
      if (!outcome.applied)
        throw versionConflict(namespace, await resolveWith(ctx, namespace, def, outcome.stale[0]?.current));
      row = outcome.rows[0]!;
    } else {
      const outcome = await ctx.store.change(change);
      if (!outcome.applied)
        throw versionConflict(namespace, await resolveWith(ctx, namespace, def, outcome.current));
      row = outcome.row;
    }
    return resolveWith(ctx, namespace, def, row);
  }

  return {
    put: (input) => writeOne(input),
    reset: (input) => writeOne({ ...input, value: null }),

    async patch({ namespace, items, writer }) {
      ctx.registry.namespace(namespace);
      const errors: FieldError[] = [];
      const seen = new Set<string>();
      const changes: SettingChange[] = [];
      const defs = new Map<string, SettingDefinition>();
      items.forEach((item, i) => {
        if (seen.has(item.key))
          errors.push({ path: `items.${i}.key`, message: 'the same key twice in one batch' });
        seen.add(item.key);
      });
      if (errors.length > 0) throw invalid(errors, 'The batch is invalid');
      for (const item of items) {
        const def = ctx.registry.setting(namespace, item.key);
        assertMayWrite(namespace, def, writer.role);
        defs.set(item.key, def);
      }
      items.forEach((item, i) => {
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
        changes.push({
          namespace,
          key: item.key,
          value,
          eventValue: maskValue(def, value),
          condition: toWriteCondition(preconditions),
          updatedBy: writer.sub,
          requestId: writer.requestId,
        });
      });
      if (errors.length > 0) throw invalid(errors, 'The batch is invalid');
      const unconditional = items.filter((item) => item.ifMatch === undefined).map((item) => item.key);
      requireCondition(unconditional.length === 0, `Writing ${unconditional.join(', ')}`);

      // One lock order for every batch (by key), so two batches over the same keys never deadlock.
      const ordered = [...changes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const outcome = await ctx.store.changeAll(ordered, guardFor(ctx, namespace, [...seen]));
      if (!outcome.applied) {
        const stale = await Promise.all(
          outcome.stale.map(async ({ key, current }) => {
            const { resource } = await resolveWith(ctx, namespace, defs.get(key)!, current);
            return { key, etag: etagOf(resource.revision), setting: resource };
          }),
        );
        throw new AppError(
          'VERSION_CONFLICT',
          `The precondition failed for ${stale.map((s) => s.key).join(', ')}; nothing was written`,
          {
            extra: { stale },
          },
        );
      }
      const rows = new Map(outcome.rows.map((row) => [row.key, row]));
      return Promise.all(
        items.map(async (item) => {
          const { resource } = await resolveWith(ctx, namespace, defs.get(item.key)!, rows.get(item.key));
          return { ...resource, etag: etagOf(resource.revision) };
        }),
      );
    },
  };
}
