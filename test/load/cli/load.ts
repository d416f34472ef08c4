/**
 * `npm run load -- <scenario> --target <url> [options]`: the user-facing load test (see --help and
 * docs/load-testing.md). Every run is bounded in time and iterations and stops by itself; a second
 * Ctrl-C exits at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { helpText, MAX_DURATION_MS, parseLoadArgs, UsageError } from './options';
import { EXIT, runLoad } from './run-load';
import { SCENARIOS } from './scenarios';

/** The repository root: the nearest folder above this file whose package.json is the "concord" root. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'concord'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

async function main(argv: string[]): Promise<number> {
  const root = repoRoot();
  const caFile = path.join(root, '.run/tls/ca.crt');
  let parsed;
  try {
    parsed = parseLoadArgs(argv, {
      outDir: path.join(root, '.run/load'),
      stateDir: path.join(root, '.run/load/state'),
      defaultCaFile: existsSync(caFile) ? caFile : undefined,
    });
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n(npm run load -- --help)\n`);
      return EXIT.usage;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(helpText(SCENARIOS));
    return EXIT.ok;
  }
  const options = parsed.options;
  const interrupt = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write(
      '\n[load] interrupted: stopping, writing the report, cleaning up (Ctrl-C again to quit now)\n',
    );
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The last guard: whatever hangs, the process ends (load, drain, setup and cleanup bounds added).
  const hardLimitMs = options.durationMs + options.drainMs + 12 * 60_000;
  setTimeout(
    () => {
      process.stderr.write(`[load] hard limit of ${Math.round(hardLimitMs / 1000)} s reached: exiting\n`);
      process.exit(EXIT.failed);
    },
    Math.min(hardLimitMs, MAX_DURATION_MS + 30 * 60_000),
  ).unref();

  const command =
    process.env.npm_lifecycle_event === 'load'
      ? `npm run load -- ${argv.join(' ')}`
      : `node ${process.argv.slice(1).join(' ')}`;
  const outcome = await runLoad(options, {
    command,
    log: (line) => process.stderr.write(`[load] ${line}\n`),
    progressStream: process.stderr,
    interrupt: interrupt.signal,
  });
  return outcome.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `load crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(EXIT.failed);
  },
);
