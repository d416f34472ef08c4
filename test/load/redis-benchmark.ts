import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** What one redis-benchmark run of one command measured (its `--csv` line). Latencies in ms. */
export interface RedisBenchmarkLine {
  /** The test name redis-benchmark printed (the command line for a custom command). */
  test: string;
  requestsPerSecond: number;
  latencyMs: { avg: number; min: number; p50: number; p95: number; p99: number; max: number };
}

const COLUMNS = [
  'test',
  'rps',
  'avg_latency_ms',
  'min_latency_ms',
  'p50_latency_ms',
  'p95_latency_ms',
  'p99_latency_ms',
  'max_latency_ms',
];

/** The quoted fields of one CSV line without quotes inside (the header, the figures). */
function fields(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

/**
 * A result line: the test name, then the figures. redis-benchmark writes a custom command's
 * arguments into the name unescaped, quotes included, so the figures are taken from the end.
 */
function resultFields(line: string): string[] | undefined {
  const m = /^"(.*)"((?:,"[^"]*"){7})$/.exec(line);
  return m ? [m[1]!, ...fields(m[2]!)] : undefined;
}

/** Parses redis-benchmark 7's `--csv` output: a header and one line per test. */
export function parseRedisBenchmarkCsv(text: string): RedisBenchmarkLine[] {
  const lines = text.split('\n').filter((l) => l.startsWith('"'));
  const header = fields(lines[0] ?? '');
  if (COLUMNS.some((c, i) => header[i] !== c))
    throw new Error(`unexpected redis-benchmark output (redis-benchmark 7 or later needed):\n${text}`);
  return lines.slice(1).map((line) => {
    const [test, ...numbers] = resultFields(line) ?? [];
    const v = numbers.map(Number);
    if (!test || v.length !== COLUMNS.length - 1 || v.some((x) => !Number.isFinite(x)))
      throw new Error(`unexpected redis-benchmark line: ${line}`);
    const [rps, avg, min, p50, p95, p99, max] = v as [number, number, number, number, number, number, number];
    return { test, requestsPerSecond: rps, latencyMs: { avg, min, p50, p95, p99, max } };
  });
}

/** Options of {@link runRedisBenchmark}. */
export interface RedisBenchmarkOptions {
  host: string;
  port: number;
  clients: number;
  requests: number;
  /** The command and its arguments, sent as is (keys must carry the run's private prefix). */
  command: string[];
}

/** The version redis-benchmark prints, or undefined when it is not installed. */
export async function redisBenchmarkVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('redis-benchmark', ['--version'], { timeout: 5_000 });
    return /redis-benchmark (\S+)/.exec(stdout)?.[1] ?? stdout.trim();
  } catch (err) {
    // Not installed: the scenario says so instead of measuring; any other failure is reported.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Runs redis-benchmark once for one command (`-k 1`: keep-alive, like the services' clients),
 * killed if it takes over `requests` ms plus 30 s (a stuck server must not hang the bench).
 */
export async function runRedisBenchmark(o: RedisBenchmarkOptions): Promise<RedisBenchmarkLine> {
  const args = [
    '-h',
    o.host,
    '-p',
    String(o.port),
    '-c',
    String(o.clients),
    '-n',
    String(o.requests),
    '-k',
    '1',
    '--csv',
    ...o.command,
  ];
  const { stdout } = await execFileAsync('redis-benchmark', args, { timeout: 30_000 + o.requests });
  const [line] = parseRedisBenchmarkCsv(stdout);
  if (!line) throw new Error(`redis-benchmark ${args.join(' ')} printed no result:\n${stdout}`);
  return line;
}
