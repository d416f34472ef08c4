import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';

/** Which code a result measured: the replicas run the built `dist/`, not the sources. */
export interface BuildInfo {
  commit: string;
  /** Uncommitted changes under libs/ or services/ when the bench started. */
  dirty: boolean;
  /** Newest mtime of the service and library builds the replicas load. */
  builtAt: string;
}

const BUILD_FILES = [
  'services/auth-service/dist/main.js',
  'services/auth-service/dist/app.js',
  'libs/common/dist/index.js',
  'libs/client/dist/index.js',
];

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
  const newest = Math.max(
    ...BUILD_FILES.map((f) => statSync(path.join(root, f), { throwIfNoEntry: false })?.mtimeMs ?? 0),
  );
  return {
    commit: git(root, ['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(root, ['status', '--porcelain', '--', 'libs', 'services']) !== '',
    builtAt: newest > 0 ? new Date(newest).toISOString() : 'unknown',
  };
}
