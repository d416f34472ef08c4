import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
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
 * e2e-stack.ts starts `<its dir>/../../services/<service>/dist/main.js`, and the gateway renderer
 * reads the service list from `<its dir>/../../services/<each>/package.json`. Compiled into
 * .run/bench-dist those resolve inside .run/bench-dist, so we link them to the real files rather
 * than copy them (a copy would go stale after the next `npm run build`). Needed before anything
 * renders a gateway (the baseline gateways too).
 */
export function linkServiceBuilds(): void {
  const distRoot = path.resolve(__dirname, '../..');
  const root = repoRoot();
  if (distRoot === root) return; // running from sources: nothing to link
  for (const service of ['auth-service', 'settings-service']) {
    const main = path.join(root, 'services', service, 'dist/main.js');
    if (!existsSync(main)) throw new Error(`${main} missing: run \`npm run build\``);
  }
  for (const service of readdirSync(path.join(root, 'services'))) {
    for (const entry of ['package.json', 'dist']) {
      const real = path.join(root, 'services', service, entry);
      const link = path.join(distRoot, 'services', service, entry);
      if (!existsSync(real) || lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) continue;
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(real, link, entry === 'dist' ? 'dir' : 'file');
    }
  }
}

/** Start-ups tried before an address-in-use failure is final. */
const START_ATTEMPTS = 3;

/**
 * `start()`, again (up to {@link START_ATTEMPTS} times) when a process found its port taken: the
 * stack picks free ports and frees them before the process binds, and with 8 replicas (24 ports)
 * on a machine where other work opens connections, an ephemeral port is sometimes taken in between.
 * The failed attempt has cleaned up after itself.
 */
async function startWithPortRetry<T>(
  progress: ((line: string) => void) | undefined,
  start: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (
        attempt >= START_ATTEMPTS ||
        !String(err instanceof Error ? err.message : err).includes('EADDRINUSE')
      )
        throw err;
      progress?.(
        `a port was taken while the stack started (attempt ${attempt}/${START_ATTEMPTS}); starting again`,
      );
    }
  }
}

/** The e2e stack plus what the benchmark needs to see of it. */
export interface BenchStack {
  stack: E2eStack;
  /** Pids of the auth replica processes. */
  pids(): number[];
  /** Pids of the settings replica processes (none unless asked for). */
  settingsPids(): number[];
  /** Bytes the replicas (auth and settings) wrote to stdout (their JSON logs) since start-up finished. */
  logBytes(): number;
}

/**
 * Starts the e2e stack (`replicas` auth replicas, `settingsReplicas` settings replicas) with `logLevel`. The harness keeps the replicas'
 * output in a growing string for failure messages; at `info` that copy would cost this process
 * (on the same cores) far more than the log lines cost the replicas, so once the stack is up the
 * stdout pipes are only drained and counted, as a container runtime would.
 */
export async function startBenchStack(options: {
  replicas: number;
  settingsReplicas?: number;
  logLevel: string;
  env?: Record<string, string>;
  /** Start the private nginx in front of the replicas (default true). */
  gateway?: boolean;
  /** Where a retried start-up is reported. */
  progress?(line: string): void;
}): Promise<BenchStack> {
  linkServiceBuilds();
  const stack = await startWithPortRetry(options.progress, () =>
    startE2eStack({
      authReplicas: options.replicas,
      gateway: options.gateway,
      settingsReplicas: options.settingsReplicas,
      env: {
        LOG_LEVEL: options.logLevel,
        // The production default: a missing acknowledgement would then show as a 10 s revoke.
        REVOCATION_LEASE_MS: '10000',
        // The per-user API limit stays on (a Redis call per request), raised as an operator raises it
        // for a load test: one user drives every client of a benchmark.
        RATE_LIMIT_MAX_REQUESTS: '10000',
        RATE_LIMIT_TIME_UNIT: 'second',
        ...options.env,
      },
    }),
  );
  let bytes = 0;
  for (const r of [...stack.replicas, ...stack.settings]) {
    const out = r.process.child.stdout;
    out?.removeAllListeners('data');
    out?.on('data', (chunk: Buffer) => (bytes += chunk.length));
  }
  return {
    stack,
    pids: () => stack.replicas.map((r) => r.process.child.pid ?? -1),
    settingsPids: () => stack.settings.map((r) => r.process.child.pid ?? -1),
    logBytes: () => bytes,
  };
}
