import type { PeerComparison, RunRecord, Target, TargetSummary, ThroughputPass } from './auth.results';
import { commGroup, cpuSince, ownNginxGroup, pidGroup, snapshotCpu, type CpuAccount } from './cpu-usage';
import { median } from './stats';
import { runWrk, wrkProblem } from './wrk';

/** One side of the comparison: a gateway URL and the processes behind it. */
export interface Endpoint {
  url: string;
  pids(): number[];
}

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  logLevel: string;
  ours: Endpoint;
  baseline: Endpoint;
  /** A third side measured in the same rounds (the auth bench's peer app), or none. */
  peer?: Endpoint;
  /**
   * Bearer tokens of different users, one per wrk thread in turn (see bench-users.ts), sent to
   * every side, so nginx parses and forwards identical requests.
   */
  tokens: readonly string[];
  /** The request path (default GET /api/v1/auth/me) and more headers, the same on both sides. */
  path?: string;
  headers?: Record<string, string>;
  /** Prefix of the progress lines (default the log level). */
  label?: string;
  wrk: { threads: number; connections: number; durationSeconds: number; warmupSeconds: number };
  rounds: number;
  scriptPath: string;
  /** Replica log bytes written so far. */
  logBytes(): number;
  progress(line: string): void;
}

const PATH = '/api/v1/auth/me';
/** Above this share of foreign CPU the run is flagged as measured on a busy machine. */
export const FOREIGN_CPU_WARNING = 0.1;

/** CPU per component: the service processes, both nginx instances, the shared daemons. */
function cpuGroups(endpoint: Endpoint) {
  return [
    pidGroup('service', () => endpoint.pids()),
    ownNginxGroup('nginx'),
    commGroup('postgres', 'postgres'),
    commGroup('redis', 'redis-server'),
  ];
}

/**
 * Adds `extraMs` (e.g. wrk's own CPU), this process and the unattributed rest ("other"), so the
 * components sum to the machine's busy time.
 */
export function fullAccount(cpu: CpuAccount, extraMs: Record<string, number> = {}): CpuAccount {
  const extra = Object.fromEntries(Object.entries(extraMs).map(([k, v]) => [k, Math.max(0, v)]));
  const groupsMs = { ...cpu.groupsMs, ...extra, bench: cpu.benchMs };
  const known = Object.values(groupsMs).reduce((a, b) => a + b, 0);
  return { ...cpu, groupsMs: { ...groupsMs, other: Math.max(0, cpu.machineBusyMs - known) } };
}

async function runOnce(
  o: ThroughputOptions,
  target: Target,
  seconds: number,
): Promise<RunRecord['wrk'] & { cpu: CpuAccount }> {
  const endpoint = target === 'ours' ? o.ours : target === 'peer' ? o.peer! : o.baseline;
  const before = snapshotCpu();
  const wrk = await runWrk({
    url: `${endpoint.url}${o.path ?? PATH}`,
    threads: o.wrk.threads,
    connections: o.wrk.connections,
    durationSeconds: seconds,
    headers: o.headers,
    bearerTokens: o.tokens,
    scriptPath: o.scriptPath,
  });
  const cpu = fullAccount(cpuSince(before, cpuGroups(endpoint)), { wrk: wrk.wrkCpuMs });
  const problem = wrkProblem(wrk);
  if (problem) {
    // A 401/503 answers in microseconds: counting it would flatter whichever side produced it.
    throw new Error(`${target} (${o.label ?? o.logLevel}): ${problem}; the run is not a valid measurement`);
  }
  return { ...wrk, cpu };
}

function summarizeTarget(runs: RunRecord[]): TargetSummary {
  const rps = runs.map((r) => r.wrk.requestsPerSecond);
  const mid = median(rps);
  const closest = runs.reduce((a, b) =>
    Math.abs(b.wrk.requestsPerSecond - mid) < Math.abs(a.wrk.requestsPerSecond - mid) ? b : a,
  );
  const requests = runs.reduce((sum, r) => sum + r.wrk.requests, 0);
  const cpuMsPer1kRequests: Record<string, number> = {};
  for (const r of runs) {
    for (const [name, ms] of Object.entries(r.cpu.groupsMs)) {
      cpuMsPer1kRequests[name] = (cpuMsPer1kRequests[name] ?? 0) + (ms * 1000) / requests;
    }
  }
  return {
    requestsPerSecond: mid,
    latencyMs: {
      p50: median(runs.map((r) => r.wrk.latencyMs.p50)),
      p90: median(runs.map((r) => r.wrk.latencyMs.p90)),
      p99: median(runs.map((r) => r.wrk.latencyMs.p99)),
      p999: median(runs.map((r) => r.wrk.latencyMs.p999)),
    },
    percentilesMs: closest.wrk.percentilesMs,
    cpuMsPer1kRequests,
  };
}

/** Ours ÷ `other` within each round of `runs`. */
function ratiosByRound(runs: RunRecord[], rounds: number, other: Target): number[] {
  return Array.from({ length: rounds }, (_, i) => {
    const rps = (t: Target) => runs.find((r) => r.round === i + 1 && r.target === t)!.wrk.requestsPerSecond;
    return rps('ours') / rps(other);
  });
}

/** The geometric mean: each ratio counts alike whichever side it favours. */
export function geometricMean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

/**
 * The order of the sides in `round` (1-based): baseline first in odd rounds, ours first in even
 * ones (an even count balances the order), the peer app, when there is one, always in between.
 */
export function roundOrder(round: number, withPeer: boolean): Target[] {
  const order: Target[] = withPeer ? ['baseline', 'peer', 'ours'] : ['baseline', 'ours'];
  return round % 2 === 1 ? order : order.reverse();
}

/**
 * Warms every side up, then runs `rounds` rounds of back-to-back runs in {@link roundOrder}, so
 * slow drift of the machine hits every side alike; reports medians and the per-round ratios.
 */
export async function measureThroughput(o: ThroughputOptions): Promise<ThroughputPass> {
  const label = o.label ?? o.logLevel;
  const sides = roundOrder(1, o.peer !== undefined);
  for (const target of sides) {
    o.progress(`[${label}] warm-up ${target} ${o.wrk.warmupSeconds}s`);
    await runOnce(o, target, o.wrk.warmupSeconds);
  }
  const runs: RunRecord[] = [];
  const logStart = o.logBytes();
  for (let round = 1; round <= o.rounds; round++) {
    for (const target of roundOrder(round, o.peer !== undefined)) {
      const { cpu, ...wrk } = await runOnce(o, target, o.wrk.durationSeconds);
      runs.push({ target, round, wrk, cpu });
      const busy = (100 * cpu.machineBusyMs) / Math.max(1, cpu.machineTotalMs);
      o.progress(
        `[${label}] round ${round}/${o.rounds} ${target.padEnd(8)} ${wrk.requestsPerSecond.toFixed(0).padStart(6)} req/s` +
          `  p50 ${wrk.latencyMs.p50.toFixed(2)} ms  p99 ${wrk.latencyMs.p99.toFixed(2)} ms  machine busy ${busy.toFixed(0)}%`,
      );
    }
  }
  const ours = summarizeTarget(runs.filter((r) => r.target === 'ours'));
  const baseline = summarizeTarget(runs.filter((r) => r.target === 'baseline'));
  const ourRequests = runs.filter((r) => r.target === 'ours').reduce((s, r) => s + r.wrk.requests, 0);
  const roundRatios = ratiosByRound(runs, o.rounds, 'baseline');
  let peer: PeerComparison | undefined;
  if (o.peer) {
    const summary = summarizeTarget(runs.filter((r) => r.target === 'peer'));
    const peerRatios = ratiosByRound(runs, o.rounds, 'peer');
    peer = {
      summary,
      ratio: ours.requestsPerSecond / summary.requestsPerSecond,
      roundRatios: peerRatios,
      pairedRatio: geometricMean(peerRatios),
    };
  }
  const busy = runs.reduce((s, r) => s + r.cpu.machineBusyMs, 0);
  const foreign = runs.reduce((s, r) => s + (r.cpu.groupsMs.other ?? 0), 0);
  const foreignCpuShare = foreign / Math.max(1, busy);
  if (foreignCpuShare > FOREIGN_CPU_WARNING) {
    o.progress(
      `[${label}] WARNING: ${(100 * foreignCpuShare).toFixed(0)}% of the busy CPU time was used by processes outside the benchmark; rerun on a quiet machine`,
    );
  }
  return {
    logLevel: o.logLevel,
    runs,
    ours,
    baseline,
    peer,
    ratio: ours.requestsPerSecond / baseline.requestsPerSecond,
    roundRatios,
    pairedRatio: geometricMean(roundRatios),
    logBytesPerRequest: (o.logBytes() - logStart) / Math.max(1, ourRequests),
    foreignCpuShare,
  };
}
