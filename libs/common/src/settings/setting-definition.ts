import type { Role } from '../auth/token-verifier';
import type { FieldError } from '../errors/app-error';
import type { z } from 'zod';

/** Facts a derived setting is computed from (read from Postgres on demand). */
export interface DerivedFacts {
  /** At least one user exists (auth-service's users table). */
  usersExist: boolean;
}

/** One typed setting of a namespace (DESIGN.md section 5). */
export interface SettingDefinition {
  readonly key: string;
  readonly schema: z.ZodType;
  readonly default: unknown;
  readonly description: string;
  /** Applied only when a process starts: env > stored > default. Live keys: stored > env > default. */
  readonly restartRequired: boolean;
  /** Masked in responses, history, events and logs. */
  readonly sensitive: boolean;
  /** False: read-only through the API, whoever asks. */
  readonly writable: boolean;
  /** Roles that may write (empty for read-only keys). */
  readonly writers: readonly Role[];
  /** Computed instead of stored (never writable). */
  readonly derive?: (facts: DerivedFacts) => unknown;
}

/**
 * A rule over several keys of one namespace, checked on the state a write would produce (so a TLS
 * certificate and its key can only change together). `values` holds every key of `keys` at its
 * stored value or, when not stored, its default.
 */
export interface CrossKeyRule {
  readonly keys: readonly string[];
  check(values: Readonly<Record<string, unknown>>): FieldError[];
}

/** A namespace: fixed keys, or any key matching a pattern (bench). */
export interface NamespaceDefinition {
  readonly name: string;
  readonly settings: readonly SettingDefinition[];
  /** Keys not listed in `settings` that still exist: every key matching `keys`, defined by `define`. */
  readonly pattern?: { readonly keys: RegExp; define(key: string): SettingDefinition };
  readonly rules: readonly CrossKeyRule[];
}

/** What a definition states; {@link defineSetting} fills in the defaults. */
export interface SettingSpec {
  key: string;
  schema: z.ZodType;
  default: unknown;
  description: string;
  restartRequired?: boolean;
  sensitive?: boolean;
  writable?: boolean;
  writers?: readonly Role[];
  derive?: (facts: DerivedFacts) => unknown;
}

/** Writers when a definition names none: ceo and manager; a restart_required key only ceo. */
export function defaultWriters(restartRequired: boolean): readonly Role[] {
  return restartRequired ? ['ceo'] : ['ceo', 'manager'];
}

/**
 * Builds a definition with DESIGN.md's defaults: writable, not sensitive, live, writers by
 * {@link defaultWriters}; read-only keys (and derived ones) have no writers at all.
 */
export function defineSetting(spec: SettingSpec): SettingDefinition {
  const restartRequired = spec.restartRequired ?? false;
  const writable = spec.derive === undefined && (spec.writable ?? true);
  return {
    key: spec.key,
    schema: spec.schema,
    default: spec.default,
    description: spec.description,
    restartRequired,
    sensitive: spec.sensitive ?? false,
    writable,
    writers: writable ? (spec.writers ?? defaultWriters(restartRequired)) : [],
    derive: spec.derive,
  };
}
