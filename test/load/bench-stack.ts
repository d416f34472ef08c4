import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';

/** The repository root: the nearest directory above `from` whose package.json is the "concord" root. */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'concord'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no concord package.json above ${from}`);
  }
}

/**
 * e2e-stack.ts starts `<its dir>/../../services/auth-service/dist/main.js`. Compiled into
 * .run/bench-dist that resolves inside .run/bench-dist, so we link that path to the real build
 * rather than copy it (a copy would go stale after the next `npm run build`).
 */
function linkServiceBuild(): void {
  const distRoot = path.resolve(__dirname, '../..');
  const root = repoRoot();
  if (distRoot === root) return; // running from sources: nothing to link
  const real = path.join(root, 'services/auth-service/dist');
  const link = path.join(distRoot, 'services/auth-service/dist');
  if (!existsSync(path.join(real, 'main.js')))
    throw new Error(`${real}/main.js missing: run \`npm run build\``);
  if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) return;
  mkdirSync(path.dirname(link), { recursive: true });
  symlinkSync(real, link, 'dir');
}

/** The e2e stack plus what the benchmark needs to see of it. */
export interface BenchStack {
  stack: E2eStack;
  /** Pids of the replica processes. */
  pids(): number[];
  /** Bytes the replicas wrote to stdout (their JSON logs) since start-up finished. */
  logBytes(): number;
}

/**
 * Starts the e2e stack (two replicas by default) with `logLevel`. The harness keeps the replicas'
 * output in a growing string for failure messages; at `info` that copy would cost this process
 * (on the same cores) far more than the log lines cost the replicas, so once the stack is up the
 * stdout pipes are only drained and counted, as a container runtime would.
 */
export async function startBenchStack(options: {
  replicas: number;
  logLevel: string;
  env?: Record<string, string>;
  /** Start the private nginx in front of the replicas (default true). */
  gateway?: boolean;
}): Promise<BenchStack> {
  linkServiceBuild();
  const stack = await startE2eStack({
    authReplicas: options.replicas,
    gateway: options.gateway,
    env: {
      LOG_LEVEL: options.logLevel,
      // The production default: a missing acknowledgement would then show as a 10 s revoke.
      REVOCATION_LEASE_MS: '10000',
      ...options.env,
    },
  });
  let bytes = 0;
  for (const r of stack.replicas) {
    const out = r.process.child.stdout;
    out?.removeAllListeners('data');
    out?.on('data', (chunk: Buffer) => (bytes += chunk.length));
  }
  return {
    stack,
    pids: () => stack.replicas.map((r) => r.process.child.pid ?? -1),
    logBytes: () => bytes,
  };
}
