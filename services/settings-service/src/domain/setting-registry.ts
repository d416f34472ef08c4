import {
  AppError,
  ROLES,
  type Role,
  type CrossKeyRule,
  type NamespaceDefinition,
  type SettingDefinition,
} from '@concord/common';

const NAMESPACE_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const KEY_NAME = /^[a-z0-9_]{1,64}$/;
/** DESIGN.md section 5: member and observer read, they never write. */
const POSSIBLE_WRITERS: readonly Role[] = ['ceo', 'manager'];

/** Thrown at start when a definition contradicts itself; the message lists every problem. */
export class RegistryError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings registry:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RegistryError';
  }
}

/** The validated namespaces of one process. */
export interface SettingRegistry {
  /** The namespace, or 404 (3000). */
  namespace(name: string): NamespaceDefinition;
  /** The definition of `key` in `namespace`, or 404 (3000). */
  setting(namespace: string, key: string): SettingDefinition;
  /** The cross-key rules `key` takes part in. */
  rulesOf(namespace: string, key: string): readonly CrossKeyRule[];
}

function definitionProblems(where: string, def: SettingDefinition): string[] {
  const problems: string[] = [];
  if (!KEY_NAME.test(def.key)) problems.push(`${where}: key must match ${KEY_NAME.source}`);
  const parsed = def.schema.safeParse(def.default);
  if (!parsed.success) {
    problems.push(`${where}: the default fails its own schema (${parsed.error.issues[0]?.message})`);
  }
  if (def.writable && def.writers.length === 0) problems.push(`${where}: writable but nobody may write it`);
  if (!def.writable && def.writers.length > 0) problems.push(`${where}: read-only but has writers`);
  for (const role of def.writers) {
    if (!(ROLES as readonly string[]).includes(role)) problems.push(`${where}: unknown role ${role}`);
    else if (!POSSIBLE_WRITERS.includes(role)) problems.push(`${where}: ${role} may only read`);
  }
  if (def.restartRequired && def.writers.some((role) => role !== 'ceo')) {
    problems.push(`${where}: restart_required keys are written by ceo only`);
  }
  if (def.derive !== undefined && def.writable) problems.push(`${where}: a derived key cannot be writable`);
  return problems;
}

function namespaceProblems(ns: NamespaceDefinition): string[] {
  const problems: string[] = [];
  if (!NAMESPACE_NAME.test(ns.name))
    problems.push(`namespace ${ns.name}: name must match ${NAMESPACE_NAME.source}`);
  const seen = new Set<string>();
  for (const def of ns.settings) {
    if (seen.has(def.key)) problems.push(`${ns.name}.${def.key}: defined twice`);
    seen.add(def.key);
    problems.push(...definitionProblems(`${ns.name}.${def.key}`, def));
  }
  if (ns.pattern) {
    // A sample key stands for every key of the pattern: they all share one definition template.
    problems.push(...definitionProblems(`${ns.name}.<pattern>`, ns.pattern.define('sample')));
  }
  const defaults: Record<string, unknown> = {};
  for (const def of ns.settings) defaults[def.key] = def.default;
  for (const rule of ns.rules) {
    const unknown = rule.keys.filter((key) => !seen.has(key));
    if (unknown.length > 0) {
      problems.push(`${ns.name}: a cross-key rule names unknown keys ${unknown.join(', ')}`);
      continue;
    }
    for (const error of rule.check(defaults)) {
      problems.push(`${ns.name}.${error.path}: the defaults break a cross-key rule (${error.message})`);
    }
  }
  return problems;
}

/**
 * Validates every definition once, at start: a default failing its own schema, a restart key that
 * a manager could write, a read-only key with writers, defaults breaking a cross-key rule, and so on
 * each stop the process (with every problem listed) instead of surfacing on the first write.
 */
export function createSettingRegistry(namespaces: readonly NamespaceDefinition[]): SettingRegistry {
  const problems: string[] = [];
  const byName = new Map<string, NamespaceDefinition>();
  const fixed = new Map<string, Map<string, SettingDefinition>>();
  for (const ns of namespaces) {
    if (byName.has(ns.name)) problems.push(`namespace ${ns.name}: defined twice`);
    problems.push(...namespaceProblems(ns));
    byName.set(ns.name, ns);
    fixed.set(ns.name, new Map(ns.settings.map((def) => [def.key, def])));
  }
  if (problems.length > 0) throw new RegistryError(problems);

  function namespace(name: string): NamespaceDefinition {
    const ns = byName.get(name);
    if (!ns) throw new AppError('RESOURCE_NOT_FOUND', `No settings namespace ${name}`);
    return ns;
  }
  return {
    namespace,
    setting(name, key) {
      const ns = namespace(name);
      const def =
        fixed.get(name)?.get(key) ?? (ns.pattern?.keys.test(key) ? ns.pattern.define(key) : undefined);
      if (!def) throw new AppError('RESOURCE_NOT_FOUND', `No setting ${key} in namespace ${name}`);
      return def;
    },
    rulesOf(name, key) {
      return namespace(name).rules.filter((rule) => rule.keys.includes(key));
    },
  };
}
