import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Which code a result measured: the replicas run the built `dist/`, not the sources. */
export interface BuildInfo {
  commit: string;
  /** Uncommitted changes under libs/ or services/ when the bench started. */
  dirty: boolean;
  /** Newest mtime of the service and library builds the replicas load. */
  builtAt: string;
}

/** The builds the replicas load; every `.js` under them counts (an incremental build rewrites only what changed). */
const BUILD_DIRS = [
  'services/auth-service/dist',
  'services/settings-service/dist',
  'libs/common/dist',
  'libs/client/dist',
];

/** Newest mtime (ms) of the `.js` files under `dir`, 0 when there are none. */
function newestJs(dir: string): number {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0; // not built
  }
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith('.js')) continue;
    newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return ''; // not a checkout (e.g. an exported tree): reported as unknown
  }
}

/**
 * Reads the commit and build time. In a repository where others commit and rebuild while a
 * benchmark runs, a figure without them cannot be attributed to any version of the code.
 */
export function describeBuild(root: string): BuildInfo {
  const newest = Math.max(...BUILD_DIRS.map((d) => newestJs(path.join(root, d))));
  return {
    commit: git(root, ['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(root, ['status', '--porcelain', '--', 'libs', 'services']) !== '',
    builtAt: newest > 0 ? new Date(newest).toISOString() : 'unknown',
  };
}
