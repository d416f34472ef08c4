// docker-compose.yml as the real `docker-compose config` resolves it (interpolation, merge keys,
// defaults), plus the small readers the tests need (.env files, variable references).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// `${NAME}`, `${NAME<op>arg}` and `$NAME` (`$$` is a literal dollar sign).
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^{}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Every variable name referenced by `${...}` or `$NAME` in `text` (`$$` excluded). */
export function referencedVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(REFERENCE)) {
    const name = m[1] ?? m[4];
    if (name) names.add(name);
  }
  return names;
}

/** The outcome of `docker-compose config`. */
export interface ComposeConfigRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `docker-compose config` (apt's docker-compose 1.29; .ci/setup.sh installs it) on
 * docker-compose.yml with `env` as its .env file. A missing docker-compose throws: the suite fails,
 * it never skips.
 */
export function runComposeConfig(env: Record<string, string>): ComposeConfigRun {
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-compose-'));
  try {
    const envFile = path.join(dir, '.env');
    writeFileSync(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    const result = spawnSync(
      'docker-compose',
      [
        '--env-file',
        envFile,
        '--project-directory',
        ROOT,
        '-f',
        path.join(ROOT, 'docker-compose.yml'),
        'config',
      ],
      // Only the .env file speaks: no variable of this process may fill a gap.
      { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    if (result.error) {
      throw new Error(`docker-compose could not run (${result.error.message}); run bash .ci/setup.sh`);
    }
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** docker-compose.yml as `docker-compose config` resolves it with `env` as its .env file. */
export function loadCompose(env: Record<string, string>): ComposeFile {
  const run = runComposeConfig(env);
  if (run.code !== 0) throw new Error(`docker-compose config failed (${run.code}): ${run.stderr}`);
  return parse(run.stdout) as ComposeFile;
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
