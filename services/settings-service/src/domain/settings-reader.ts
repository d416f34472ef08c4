import { AppError, type SettingDefinition } from '@concord/common';
import type { VersionState } from './preconditions';
import { etagOf } from './preconditions';
import { historyItem, resolveSetting, type HistoryItem, type SettingResource } from './setting-resource';
import type { SettingRegistry } from './setting-registry';
import type { SettingsStore, StoredSetting } from './settings.ports';

/** What reading and writing settings share. */
export interface SettingsContext {
  registry: SettingRegistry;
  store: SettingsStore;
  /** Values this process's environment pins for namespace `api` (see setting-env.ts). */
  envValues: ReadonlyMap<string, unknown>;
}

/** A setting and the state its preconditions are judged against. */
export interface ResolvedSetting {
  resource: SettingResource;
  state: VersionState;
}

/** Resolves `row` for `def` with this process's env; derived keys read their facts from the store. */
export async function resolveWith(
  ctx: SettingsContext,
  target: { namespace: string; def: SettingDefinition; row: StoredSetting | undefined },
): Promise<ResolvedSetting> {
  const { namespace, def, row } = target;
  const facts = def.derive ? { usersExist: await ctx.store.usersExist() } : undefined;
  const envValue = namespace === 'api' ? ctx.envValues.get(def.key) : undefined;
  return resolveSetting({ namespace, def, row, envValue, facts });
}

/**
 * 412 (4002) carrying the current version, so the client can re-read without another request (the
 * problem middleware also sends the `etag` as the `ETag` header).
 */
export function versionConflict(namespace: string, current: ResolvedSetting): AppError {
  const { resource } = current;
  return new AppError(
    'VERSION_CONFLICT',
    `The precondition failed: ${namespace}.${resource.key} is at revision ${resource.revision}`,
    { data: { etag: etagOf(resource.revision), setting: resource } },
  );
}

/** The read side: lists, single settings with their state, history pages. */
export interface SettingsReader {
  list(namespace: string): Promise<SettingResource[]>;
  get(namespace: string, key: string): Promise<ResolvedSetting>;
  history(query: { namespace: string; key: string; limit: number; cursor?: string }): Promise<{
    items: HistoryItem[];
    next_cursor: string | null;
  }>;
}

/** Builds the read side over `ctx`. */
export function createSettingsReader(ctx: SettingsContext): SettingsReader {
  return {
    async list(namespace) {
      const ns = ctx.registry.namespace(namespace);
      const rows = new Map((await ctx.store.list(namespace)).map((row) => [row.key, row]));
      const defs = [...ns.settings];
      const fixed = new Set(defs.map((def) => def.key));
      if (ns.pattern) {
        for (const key of rows.keys())
          if (!fixed.has(key) && ns.pattern.keys.test(key)) defs.push(ns.pattern.define(key));
      }
      const resolved = await Promise.all(
        defs.map((def) => resolveWith(ctx, { namespace, def, row: rows.get(def.key) })),
      );
      return resolved.map((r) => r.resource);
    },
    async get(namespace, key) {
      const def = ctx.registry.setting(namespace, key);
      return resolveWith(ctx, {
        namespace,
        def,
        row: def.derive ? undefined : await ctx.store.read(namespace, key),
      });
    },
    async history(query) {
      const def = ctx.registry.setting(query.namespace, query.key);
      if (def.derive) throw new AppError('RESOURCE_NOT_FOUND', `${query.key} is derived and has no history`);
      const page = await ctx.store.history(query);
      return { items: page.items.map((record) => historyItem(def, record)), next_cursor: page.nextCursor };
    },
  };
}
