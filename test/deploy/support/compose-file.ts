// Reads docker-compose.yml the way `docker compose config` does, as far as this repository uses it:
// YAML with merge keys (`<<: *anchor`), then the compose-spec interpolation of ${...} from an
// environment (the process's plus .env). No Docker engine or compose binary is needed.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

/** A service as the tests look at it (after interpolation). */
export interface ComposeService {
  image?: string;
  build?: { context?: string; target?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
  networks?: string[] | Record<string, { ipv4_address?: string; aliases?: string[] } | null>;
  network_mode?: string;
  ports?: string[];
  volumes?: string[];
  tmpfs?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  [key: string]: unknown;
}

/** The parts of a compose file the tests look at. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { internal?: boolean; ipam?: { config?: Array<{ subnet?: string }> } } | null>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Parses compose YAML (merge keys resolved, anchors expanded) without interpolating. */
export function parseComposeYaml(text: string): unknown {
  return parse(text, { merge: true, maxAliasCount: 1000 });
}

/** An error of a `${VAR:?message}` / `${VAR?message}` reference. */
export class MissingVariableError extends Error {}

// `$$`, `${NAME}`, `${NAME<op>arg}` with op in - :- ? :? + :+ (arg without braces), and `$NAME`.
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^{}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Compose-spec interpolation of one string (https://compose-spec.io, "Interpolation"): `${VAR:-d}`
 * uses d when VAR is unset or empty, `${VAR-d}` only when unset; `:?`/`?` fail with the message;
 * `:+`/`+` substitute the argument when VAR is set (and non-empty); `$$` is a literal `$`.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(REFERENCE, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare ?? '';
    const value = env[name];
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (op) {
      case undefined:
        return value ?? '';
      case ':-':
        return empty ? (arg ?? '') : value;
      case '-':
        return unset ? (arg ?? '') : value;
      case ':?':
      case '?':
        if (op === ':?' ? empty : unset) {
          throw new MissingVariableError(`required variable ${name} is missing a value: ${arg ?? ''}`);
        }
        return value ?? '';
      case ':+':
        return empty ? '' : (arg ?? '');
      case '+':
        return unset ? '' : (arg ?? '');
      default:
        throw new Error(`unsupported interpolation ${whole}`);
    }
  });
}

/** Every variable name referenced by `${...}` or `$NAME` in `text` (`$$` excluded). */
export function referencedVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(REFERENCE)) {
    const name = m[1] ?? m[4];
    if (name) names.add(name);
  }
  return names;
}

/** Interpolates every string in a parsed compose document (keys stay as written, as compose does). */
export function interpolateDeep<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolateDeep(v, env)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, interpolateDeep(v, env)]),
    ) as T;
  }
  return value;
}

/**
 * Parses a dotenv file the way compose reads .env: `KEY=VALUE` lines, `#` comments, optional
 * `export`, single or double quotes around the value.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`not a dotenv line: ${raw}`);
    const [, key = '', rest = ''] = m;
    const quoted = /^(['"])(.*)\1$/.exec(rest);
    out[key] = quoted ? (quoted[2] ?? '') : rest.replace(/\s+#.*$/, '');
  }
  return out;
}

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../../..');

/** Reads a file relative to the repository root. */
export function readRepoFile(rel: string): string {
  return readFileSync(path.join(ROOT, rel), 'utf8');
}

/**
 * docker-compose.yml after interpolation with `env`. Environment maps written as lists
 * (`- KEY=VALUE`) are normalised to objects, so tests can index them.
 */
export function loadCompose(env: Record<string, string | undefined>): ComposeFile {
  const doc = interpolateDeep(parseComposeYaml(readRepoFile('docker-compose.yml')), env) as ComposeFile;
  for (const service of Object.values(doc.services)) {
    const e: unknown = service.environment;
    if (Array.isArray(e)) {
      service.environment = Object.fromEntries(
        e.map((entry: string) => {
          const i = entry.indexOf('=');
          return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
        }),
      );
    }
  }
  return doc;
}
