import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clockTicksPerSecond } from './cpu-usage';

/** Percentiles asked from wrk's HdrHistogram; the reports draw curves from them. */
const PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99];

/**
 * wrk's hooks. `setup` and `init` give each thread its own bearer token from `WRK_BEARER_TOKENS`
 * (space-separated, handed out in turn; none: the command line's headers alone), set before wrk
 * formats the thread's one request, so it costs nothing per request. The `done` hook prints exact percentiles as one JSON line (the text report rounds them and
 * has only four), plus wrk's own CPU time read from /proc/self/stat at the very end: the load
 * generator shares the machine with what it measures, so its cost belongs in the CPU account.
 * No `response` hook: defining one makes wrk parse every response in Lua and roughly halves its rate.
 */
const DONE_SCRIPT = `
local tokens = {}
for t in (os.getenv("WRK_BEARER_TOKENS") or ""):gmatch("%S+") do tokens[#tokens + 1] = t end
local threads = 0
setup = function(thread)
  if #tokens > 0 then thread:set("bearer", tokens[threads % #tokens + 1]) end
  threads = threads + 1
end
init = function(args)
  if bearer then wrk.headers["Authorization"] = "Bearer " .. bearer end
end
done = function(summary, latency, requests)
  local cpu = -1
  local f = io.open("/proc/self/stat", "r")
  if f then
    local rest = f:read("*a"):match("%) (.*)")
    f:close()
    local fields = {}
    for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
    -- rest starts at field 3 (state): utime (14) and stime (15) are entries 12 and 13
    cpu = tonumber(fields[12]) + tonumber(fields[13])
  end
  local ps = {}
  for _, p in ipairs({${PERCENTILES.join(', ')}}) do
    ps[#ps + 1] = string.format("[%s,%d]", p, latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"percentiles":[%s]},"cpu_ticks":%d}\\n',
    summary.requests, summary.duration, e.status, latency.mean, latency.stdev, latency.max,
    table.concat(ps, ","), cpu))
end
`;

/** How one wrk run is driven. */
export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
  /** One `Authorization: Bearer` token per thread, in turn (instead of one in `headers`). */
  bearerTokens?: readonly string[];
  /** From {@link writeWrkScript}. */
  scriptPath: string;
}

/** What one wrk run measured. Latencies in milliseconds. */
export interface WrkResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  /** wrk's "Non-2xx or 3xx responses" count (0 when the line is absent). */
  non2xx3xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyMs: {
    mean: number;
    stdev: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
  };
  /** `[percentile, ms]` pairs, ascending. */
  percentilesMs: [number, number][];
  /** CPU time wrk itself used (user + system), -1 when /proc was unreadable. */
  wrkCpuMs: number;
}

/** Writes the Lua hooks into `dir` and returns its path. */
export async function writeWrkScript(dir: string): Promise<string> {
  const file = path.join(dir, 'wrk-report.lua');
  await writeFile(file, DONE_SCRIPT);
  return file;
}

/** Parses wrk's text report plus the `WRK_JSON` line of {@link DONE_SCRIPT}. */
export function parseWrkOutput(text: string, clockTicksPerSecond = 100): WrkResult {
  const jsonLine = /^WRK_JSON (.*)$/m.exec(text)?.[1];
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text)?.[1];
  if (!jsonLine || !rps) throw new Error(`unexpected wrk output:\n${text}`);
  const raw = JSON.parse(jsonLine) as {
    requests: number;
    duration_us: number;
    status_errors: number;
    latency_us: { mean: number; stdev: number; max: number; percentiles: [number, number][] };
    cpu_ticks: number;
  };
  const non2xx3xx = Number(/^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  if (non2xx3xx !== raw.status_errors) {
    throw new Error(`wrk text says ${non2xx3xx} non-2xx/3xx, its summary ${raw.status_errors}:\n${text}`);
  }
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const percentilesMs = raw.latency_us.percentiles.map(([p, us]) => [p, us / 1000] as [number, number]);
  const at = (p: number) => percentilesMs.find(([q]) => q === p)?.[1] ?? Number.NaN;
  return {
    requests: raw.requests,
    durationSeconds: raw.duration_us / 1e6,
    requestsPerSecond: Number(rps),
    non2xx3xx,
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    latencyMs: {
      mean: raw.latency_us.mean / 1000,
      stdev: raw.latency_us.stdev / 1000,
      max: raw.latency_us.max / 1000,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
    },
    percentilesMs,
    wrkCpuMs: raw.cpu_ticks < 0 ? -1 : (raw.cpu_ticks * 1000) / clockTicksPerSecond,
  };
}

/**
 * Runs wrk once. It never verifies certificates, which is what we want against the private CA.
 * Killed if it overruns its duration by 30 s, so a wedged run cannot hang the bench.
 */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    '--latency',
    '-s',
    options.scriptPath,
    ...Object.entries(options.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    options.url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRK_BEARER_TOKENS: (options.bearerTokens ?? []).join(' ') },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.durationSeconds + 30) * 1000);
    // If the bench exits mid-run (Ctrl-C, hard limit), wrk must not keep hammering for its duration.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      reject(new Error(`could not run wrk (apt-get install -y wrk): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      if (code !== 0) {
        reject(new Error(`wrk exited with ${code ?? signal}:\n${out}`));
        return;
      }
      try {
        resolve(parseWrkOutput(out, clockTicksPerSecond()));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

/** Why a run is not a valid measurement (any error response or socket error), or undefined. */
export function wrkProblem(result: WrkResult): string | undefined {
  const s = result.socketErrors;
  const socket = s.connect + s.read + s.write + s.timeout;
  if (result.non2xx3xx > 0) return `${result.non2xx3xx} non-2xx/3xx responses`;
  if (socket > 0) return `socket errors: ${JSON.stringify(s)}`;
  if (result.requests === 0) return 'no requests completed';
  return undefined;
}
