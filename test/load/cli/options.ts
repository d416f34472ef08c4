import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseSlo, SloSyntaxError, type Slo } from './slo';
import type { LoadModel } from './workload';

/** Bad command line: the CLI prints the message and a hint, exit code 64 (EX_USAGE). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Everything a run is told. */
export interface LoadOptions {
  scenario: string;
  target: string;
  users: number;
  durationMs: number;
  rate?: number;
  model: LoadModel;
  maxRequests: number;
  ca?: string;
  caFile?: string;
  slo: Slo[];
  sloText?: string;
  allowRemoteTarget: boolean;
  adminUser?: string;
  adminPassword?: string;
  sources: number;
  outDir: string;
  timeoutMs: number;
  drainMs: number;
  keys: number;
  progress: 'auto' | 'always' | 'never';
  /** Where the reusable user pool is remembered (per target). */
  stateDir: string;
}

/** Longest run any option may ask for. */
export const MAX_DURATION_MS = 60 * 60_000;
const MAX_REQUESTS_CAP = 100_000_000;

/** `500ms`, `30s`, `5m`, `1h` or plain seconds → ms. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: cannot read "${text}" (e.g. 500ms, 30s, 5m)`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const value = Number(m[1]) * factor;
  if (!(value > 0)) throw new UsageError(`${flag} must be above 0`);
  return value;
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer in ${min}…${max}`);
  return n;
}

export const FLAGS = {
  target: { type: 'string' },
  users: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  model: { type: 'string' },
  'max-requests': { type: 'string' },
  ca: { type: 'string' },
  slo: { type: 'string' },
  'allow-remote-target': { type: 'boolean' },
  'admin-user': { type: 'string' },
  'admin-password': { type: 'string' },
  'admin-password-file': { type: 'string' },
  sources: { type: 'string' },
  out: { type: 'string' },
  timeout: { type: 'string' },
  drain: { type: 'string' },
  keys: { type: 'string' },
  progress: { type: 'string' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `parseLoadArgs` found: options, or a request for help. */
export type ParsedArgs = { help: true; scenario?: string } | { help: false; options: LoadOptions };

/** Parses `argv` (after `npm run load --`); `defaults` supplies the paths that depend on the root. */
export function parseLoadArgs(
  argv: string[],
  defaults: { outDir: string; stateDir: string; defaultCaFile?: string },
): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  const [scenario, ...extra] = parsed.positionals;
  if (v.help) return { help: true, scenario };
  if (!scenario) throw new UsageError('name a scenario (npm run load -- --help lists them)');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (!v.target) throw new UsageError('--target <url> is required (e.g. --target https://localhost:8443)');

  const durationMs = v.duration === undefined ? 60_000 : parseDuration('--duration', v.duration);
  if (durationMs > MAX_DURATION_MS) throw new UsageError('--duration is at most 1h');
  let rate: number | undefined;
  if (v.rate !== undefined) {
    rate = Number(v.rate);
    if (!(rate > 0) || rate > 100_000) throw new UsageError('--rate must be a number in (0, 100000]');
  }
  const model = (v.model ?? (rate === undefined ? 'closed' : 'open')) as LoadModel;
  if (model !== 'open' && model !== 'closed') throw new UsageError('--model is open or closed');
  if (model === 'open' && rate === undefined) throw new UsageError('--model open needs --rate');

  let slo: Slo[] = [];
  if (v.slo !== undefined) {
    try {
      slo = parseSlo(v.slo);
    } catch (err) {
      if (err instanceof SloSyntaxError) throw new UsageError(err.message);
      throw err;
    }
  }
  if (v['admin-password'] !== undefined && v['admin-password-file'] !== undefined) {
    throw new UsageError('give --admin-password or --admin-password-file, not both');
  }
  const adminPassword =
    v['admin-password-file'] !== undefined
      ? readText('--admin-password-file', v['admin-password-file']).trimEnd()
      : v['admin-password'];
  if ((v['admin-user'] === undefined) !== (adminPassword === undefined)) {
    throw new UsageError('--admin-user and --admin-password go together');
  }
  const caFile = v.ca ?? defaults.defaultCaFile;
  const progress = v.progress ?? 'auto';
  if (progress !== 'auto' && progress !== 'always' && progress !== 'never') {
    throw new UsageError('--progress is auto, always or never');
  }
  const users = integer('--users', v.users, 20, 1, 10_000);
  // Bounded by default: no more operations than the rate (or a generous per-user figure) allows.
  const defaultMax = Math.min(
    MAX_REQUESTS_CAP,
    Math.ceil(rate !== undefined ? rate * (durationMs / 1000) * 1.05 + users : 1_000_000),
  );
  return {
    help: false,
    options: {
      scenario,
      target: v.target,
      users,
      durationMs,
      rate,
      model,
      maxRequests: integer('--max-requests', v['max-requests'], defaultMax, 1, MAX_REQUESTS_CAP),
      caFile,
      ca: caFile === undefined ? undefined : readText('--ca', caFile),
      slo,
      sloText: v.slo,
      allowRemoteTarget: v['allow-remote-target'] ?? false,
      adminUser: v['admin-user'],
      adminPassword,
      sources: integer('--sources', v.sources, 32, 1, 60_000),
      outDir: v.out ?? defaults.outDir,
      timeoutMs: v.timeout === undefined ? 10_000 : parseDuration('--timeout', v.timeout),
      drainMs: v.drain === undefined ? 10_000 : parseDuration('--drain', v.drain),
      keys: integer('--keys', v.keys, 64, 1, 100_000),
      progress,
      stateDir: v['state-dir'] ?? defaults.stateDir,
    },
  };
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** `--help`: every flag, the scenarios and the exit codes. */
export function helpText(scenarios: readonly { name: string; summary: string }[]): string {
  const width = Math.max(...scenarios.map((s) => s.name.length));
  return `Concord load test: offers load to a Concord gateway and reports what it measured.

usage: npm run load -- <scenario> --target <url> [options]

Scenarios:
${scenarios.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n')}

Target and safety:
  --target <url>            gateway origin, e.g. https://localhost:8443 (required)
  --allow-remote-target     allow a target that is not loopback (127.0.0.0/8, ::1); without it
                            such a target is refused
  --ca <file>               PEM of the CA that signed the gateway's certificate (default for a
                            loopback target: the local stack's .run/tls/ca.crt when present)

Load:
  --users <n>               virtual users (closed model) or most operations in flight (open
                            model); also the size of the user pool (default 20)
  --duration <time>         how long load is offered: 500ms, 30s, 5m, at most 1h (default 60s)
  --rate <r>                iterations per second; with it the model defaults to open
  --model open|closed       open: iterations arrive at --rate whatever the target does, latency
                            from each one's intended start; closed: --users loop, paced to --rate
                            like wrk2 when given (latency from the intended send time), else back
                            to back with the latencies corrected for coordinated omission
                            afterwards (default: open with --rate, closed without)
  --max-requests <n>        upper bound on iterations (default: rate x duration + 5%, else 1000000)
  --sources <n>             distinct client source addresses 127.0.0.x to connect from, for a
                            loopback IPv4 target (default 32; never 127.0.0.2, the gateway's own)
  --keys <n>                settings-cas: how many bench keys to spread the writes over (default 64)
  --timeout <time>          per-request timeout (default 10s)
  --drain <time>            how long in-flight operations may finish after the end (default 10s)

Users (the scenarios create a reusable pool once and remember it per target in --state-dir):
  --admin-user <name>       a ceo account that may create the pool's users
  --admin-password <pw>     its password (or --admin-password-file <file>)
                            Without them, a loopback stack with no user yet is set up with a
                            generated ceo that is remembered for later runs.
  --state-dir <dir>         where pools are remembered (default .run/load/state, mode 0700)

Results:
  --slo <list>              thresholds that set the exit code, e.g. p99<50ms,errors<0.1%,rps>100;
                            metrics p50 p75 p90 p95 p99 p99.9 mean max (us/ms/s), errors (% or a
                            count), rps; prefix an operation to restrict one: login:p95<300ms
  --out <dir>               where <scenario>-<time>.json and .html go (default .run/load)
  --progress auto|always|never
                            live progress line on stderr (auto: on a TTY, else one line per 10 s)
  -h, --help                this text

Exit codes: 0 ran and met every --slo; 2 an --slo was missed; 1 the run failed (target down, setup
failed, report not written); 64 bad usage; 130 interrupted.
Writes go only to the bench settings namespace (needs SETTINGS_BENCH_NAMESPACE=true on the target).
See docs/load-testing.md.
`;
}
