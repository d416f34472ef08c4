import type { Logger } from '../logging/logger';
import { effectiveValue, type EffectiveValue } from './effective-value';
import type { EventsSubscription } from './events-subscription';
import { createRevisionDedupe } from './revision-dedupe';
import type { NamespaceDefinition, SettingDefinition } from './setting-definition';
import { maskSettingValue } from './setting-mask';
import { parseConcordEvent, type SettingsChangedData } from './settings-events';
import type { StoredSettingRow, StoredSettingsSource } from './stored-settings';

/** Options of {@link createSettingsFollower}. */
export interface SettingsFollowerOptions {
  /** The namespaces followed; changes of any other are ignored. */
  namespaces: readonly NamespaceDefinition[];
  /** Postgres, re-read at start and on every (re)subscribe. */
  source: StoredSettingsSource;
  subscription: EventsSubscription;
  /** What this process's environment pins for namespace `api` (see setting-env.ts), by key. */
  envValues?: ReadonlyMap<string, unknown>;
  logger: Logger;
  /** Backoff of a re-read that failed (Postgres away): `baseMs · 2^n`, at most `maxMs`. */
  retry?: { baseMs: number; maxMs: number };
  /** Keys whose last revision is remembered (see revision-dedupe.ts). */
  maxTrackedKeys?: number;
}

/** Called with a live key's new effective value (a reset yields the env value or the default). */
export type SettingListener = (value: unknown) => void;

/**
 * One process's view of the stored settings (DESIGN.md section 5, "Events"): reads them from
 * Postgres at start, then follows `settings.changed` on the events channel, deduplicated per key by
 * revision, and re-reads them on every resubscribe so that a change published while it was
 * disconnected is never missed (docs/decisions/015-live-settings.md).
 */
export interface SettingsFollower {
  /** Subscribes, then reads the stored state; resolves once both are done (rejects if either fails). */
  start(): Promise<void>;
  /**
   * The effective value of a fixed key (`namespace` defaults to `api`). Restart keys keep the value
   * they had at start; live keys follow every change.
   */
  value(key: string, namespace?: string): unknown;
  /** {@link value} and where it comes from. */
  effective(key: string, namespace?: string): EffectiveValue;
  /** Calls `listener` after each change of a live key's effective value (not at start). */
  onChange(key: string, listener: SettingListener): void;
  /**
   * Calls `listener` once per committed change seen after start (from the channel or found by a
   * re-read), values masked where sensitive: what realtime re-broadcasts.
   */
  onEvent(listener: (event: SettingsChangedData) => void): void;
  /** Stops retrying re-reads; the subscription itself belongs to the process's Redis clients. */
  stop(): void;
}

const idOf = (namespace: string, key: string) => `${namespace}/${key}`;

function definitionLookup(namespaces: readonly NamespaceDefinition[]) {
  const byName = new Map(namespaces.map((ns) => [ns.name, ns]));
  const fixed = new Map(namespaces.flatMap((ns) => ns.settings.map((def) => [idOf(ns.name, def.key), def])));
  return (namespace: string, key: string): SettingDefinition | undefined => {
    const known = fixed.get(idOf(namespace, key));
    if (known) return known;
    const pattern = byName.get(namespace)?.pattern;
    return pattern?.keys.test(key) ? pattern.define(key) : undefined;
  };
}

/**
 * Events carry sensitive values masked, so a follower could never apply such a key live: refused
 * when the follower is built rather than silently applying `[redacted]`.
 */
function assertFollowable(namespaces: readonly NamespaceDefinition[]): void {
  const unfollowable = namespaces.flatMap((ns) =>
    ns.settings.filter((def) => def.sensitive && !def.restartRequired).map((def) => `${ns.name}.${def.key}`),
  );
  if (unfollowable.length > 0) {
    throw new Error(
      `sensitive live settings cannot be followed from masked events: ${unfollowable.join(', ')}`,
    );
  }
}

function rowEvent(def: SettingDefinition, row: StoredSettingRow): SettingsChangedData {
  return {
    namespace: row.namespace,
    key: row.key,
    value: maskSettingValue(def, row.value),
    etag: `"${row.revision}"`,
    revision: row.revision,
    updated_by: row.updatedBy,
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Builds a {@link SettingsFollower}; nothing happens until `start`. */
export function createSettingsFollower(options: SettingsFollowerOptions): SettingsFollower {
  const { namespaces, source, subscription, logger } = options;
  assertFollowable(namespaces);
  const envValues = options.envValues ?? new Map<string, unknown>();
  const retry = options.retry ?? { baseMs: 250, maxMs: 10_000 };
  const definitionOf = definitionLookup(namespaces);
  const dedupe = createRevisionDedupe(options.maxTrackedKeys);
  const names = namespaces.map((ns) => ns.name);
  /** The latest stored value accepted per fixed key (null: a tombstone), before it is resolved. */
  const latestStored = new Map<string, unknown>();
  const current = new Map<string, EffectiveValue>();
  const keyListeners = new Map<string, SettingListener[]>();
  const eventListeners: ((event: SettingsChangedData) => void)[] = [];
  let started = false;
  let stopped = false;
  /** Incremented on every disconnect: a re-read still running for an older connection retries no more. */
  let generation = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const fixedKeys = namespaces.flatMap((ns) => ns.settings.map((def) => ({ namespace: ns.name, def })));
  const fixedIds = new Set(fixedKeys.map(({ namespace, def }) => idOf(namespace, def.key)));

  const envOf = (namespace: string, key: string) => (namespace === 'api' ? envValues.get(key) : undefined);

  /** The stored value as this process may use it: an invalid one (e.g. above this process's bound) counts as unset. */
  function usable(def: SettingDefinition, namespace: string, value: unknown): unknown {
    if (value === null || value === undefined) return undefined;
    const parsed = def.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    logger.warn(
      { event: 'settings.invalid', namespace, key: def.key, issue: parsed.error.issues[0]?.message },
      'stored setting is invalid for this process; using its env value or default',
    );
    return undefined;
  }

  /** The effective value of a fixed key from the latest stored value accepted for it. */
  function resolve(namespace: string, def: SettingDefinition): EffectiveValue {
    return effectiveValue(def, {
      stored: usable(def, namespace, latestStored.get(idOf(namespace, def.key))),
      env: envOf(namespace, def.key),
    });
  }

  function notify<T>(listeners: readonly ((arg: T) => void)[], arg: T): void {
    for (const listener of listeners) {
      try {
        listener(arg);
      } catch (err) {
        // One consumer's bug must not stop the others from hearing about the change.
        logger.error({ err }, 'settings listener failed');
      }
    }
  }

  /**
   * Applies one committed change unless its revision is at or below the last applied for its key.
   * `stored` is the real value: a read's row value, or the event's value, which is masked for
   * sensitive keys (restart keys only, see assertFollowable; their start value is a read's).
   */
  function apply(change: SettingsChangedData, from: 'event' | 'read', stored: unknown): void {
    const def = definitionOf(change.namespace, change.key);
    if (!def || !names.includes(change.namespace)) return;
    const id = idOf(change.namespace, change.key);
    if (!dedupe.accept(id, change.revision)) return;
    const fixed = fixedIds.has(id);
    if (fixed && !(from === 'event' && def.sensitive)) latestStored.set(id, stored);
    // Until start has resolved every key, changes (the initial read's and events racing it) only
    // seed revisions and stored values: start computes the effective values from them.
    if (!started) return;
    logger.debug(
      { namespace: change.namespace, key: change.key, revision: change.revision, from },
      'settings change',
    );
    notify(eventListeners, change);
    if (!fixed) return; // a pattern key (bench): announced, not applied
    const before = lookup(change.key, change.namespace);
    if (def.restartRequired) {
      logger.info(
        { event: 'settings.restart_required', namespace: change.namespace, key: change.key },
        'a restart setting changed; this process applies it at its next start',
      );
      return;
    }
    // Values of live keys are never sensitive (assertFollowable), so the event's value is the real one.
    const after = resolve(change.namespace, def);
    current.set(id, after);
    logger.info(
      {
        event: 'settings.applied',
        namespace: change.namespace,
        key: change.key,
        revision: change.revision,
        source: after.source,
      },
      'live setting applied',
    );
    if (JSON.stringify(after.value) !== JSON.stringify(before.value)) {
      notify(keyListeners.get(id) ?? [], after.value);
    }
  }

  async function read(): Promise<void> {
    const rows = await source.read(names);
    for (const row of rows) {
      const def = definitionOf(row.namespace, row.key);
      if (def) apply(rowEvent(def, row), 'read', row.value);
    }
  }

  function onMessage(text: string): void {
    const parsed = parseConcordEvent(text);
    if (parsed.kind === 'malformed') {
      logger.warn(
        { reason: parsed.reason, length: text.length },
        'ignored malformed message on the events channel',
      );
    } else if (parsed.kind === 'settings.changed') {
      apply(parsed.data, 'event', parsed.data.value);
    }
  }

  /** Re-reads until it succeeds or the connection it was started for is gone. */
  function resync(forGeneration: number, attempt = 0): void {
    read().then(
      () => logger.info({ event: 'settings.resynced' }, 'settings re-read after resubscribe'),
      (err: unknown) => {
        if (stopped || forGeneration !== generation) return;
        const delayMs = Math.min(retry.baseMs * 2 ** attempt, retry.maxMs);
        logger.warn({ err, delay_ms: delayMs }, 'settings re-read failed; retrying');
        retryTimer = setTimeout(() => resync(forGeneration, attempt + 1), delayMs);
        retryTimer.unref();
      },
    );
  }

  function lookup(key: string, namespace: string): EffectiveValue {
    const value = current.get(idOf(namespace, key));
    if (!value) throw new Error(`settings follower: ${namespace}.${key} is not a followed fixed key`);
    return value;
  }

  return {
    async start() {
      subscription.onConnectionChange((state) => {
        if (state === 'down') {
          generation++;
          clearTimeout(retryTimer);
          return;
        }
        if (!stopped) resync(generation);
      });
      // Subscribed before the read: whatever commits after the read's snapshot is published after
      // we listen, so it arrives; whatever committed before is in the read. Dedupe settles overlaps.
      await subscription.subscribe(onMessage);
      await read();
      for (const { namespace, def } of fixedKeys)
        current.set(idOf(namespace, def.key), resolve(namespace, def));
      started = true;
    },
    value: (key, namespace = 'api') => lookup(key, namespace).value,
    effective: (key, namespace = 'api') => lookup(key, namespace),
    onChange(key, listener) {
      const id = idOf('api', key);
      keyListeners.set(id, [...(keyListeners.get(id) ?? []), listener]);
    },
    onEvent(listener) {
      eventListeners.push(listener);
    },
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
    },
  };
}
