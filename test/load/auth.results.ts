import type { BuildInfo } from './build-info';
import type { ProfileSummary } from './cpu-profile';
import type { CpuAccount } from './cpu-usage';
import type { MachineInfo } from './machine';
import type { Summary } from './stats';
import type { WrkResult } from './wrk';

/** The shape of `.run/bench/auth-<timestamp>.json`, also fed to the HTML and Markdown writers. */

/**
 * Which side of the comparison a run measured: ours, the bare express baseline, or the peer app
 * (express verifying the JWT with jose on every request, `peer-app.ts`).
 */
export type Target = 'ours' | 'baseline' | 'peer';

/** One wrk run with the CPU each component spent during it. */
export interface RunRecord {
  target: Target;
  round: number;
  wrk: WrkResult;
  cpu: CpuAccount;
}

/** Medians over the measured rounds of one target. */
export interface TargetSummary {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number };
  /** Percentile curve of the round whose req/s is the median. */
  percentilesMs: [number, number][];
  /** CPU milliseconds per 1000 requests, per component, over all measured rounds. */
  cpuMsPer1kRequests: Record<string, number>;
}

/** Ours against the peer app, measured in the same rounds as the baseline (when it ran). */
export interface PeerComparison {
  summary: TargetSummary;
  /** Median ours req/s ÷ median peer req/s. */
  ratio: number;
  /** Ours ÷ peer within each round. */
  roundRatios: number[];
  /** Geometric mean of {@link roundRatios}. */
  pairedRatio: number;
}

/** Ours against the baseline (and the peer app, if it ran) at one replica log level. */
export interface ThroughputPass {
  logLevel: string;
  runs: RunRecord[];
  ours: TargetSummary;
  baseline: TargetSummary;
  peer?: PeerComparison;
  /** Median ours req/s ÷ median baseline req/s. */
  ratio: number;
  /** Ours ÷ baseline within each round: the spread shows how far one ratio can be trusted. */
  roundRatios: number[];
  /**
   * Geometric mean of {@link roundRatios}. Each pair ran back to back, so slow drift of the
   * machine cancels out of it, while the ratio of medians may pair rounds minutes apart.
   */
  pairedRatio: number;
  /** JSON log bytes the replicas wrote per request served. */
  logBytesPerRequest: number;
  /**
   * Share of the machine's busy CPU time during the measured rounds that no benchmark process
   * accounts for: someone else's work (a test suite, a build). Above ~10% the absolute figures
   * read low and the ratio is less trustworthy.
   */
  foreignCpuShare: number;
}

/** Sequential login → logout, timing only the logout, with `replicas` auth replicas verifying. */
export interface RevokeResult {
  /** Auth-service replicas that each had to acknowledge every revocation before its 204. */
  replicas: number;
  /** How the logouts were sent. */
  via: string;
  samplesMs: number[];
  summary: Summary;
  /** Logouts answered per replica (X-Concord-Replica). */
  byReplica: Record<string, number>;
  /**
   * Right after each 204 the revoked token went to every replica directly (no nginx): how often
   * each status came back. Expected only 401 (a 503 is the fail-closed refusal).
   */
  directStatuses: Record<string, number>;
  /** Direct requests with the revoked token that got a 2xx: each one is a revoked token accepted. */
  violations: number;
}

/** One goal of the issue and whether this run met it. */
export interface Goal {
  name: string;
  target: string;
  value: number;
  met: boolean;
  /** Why this verdict should not be relied on (e.g. the machine was busy with other work). */
  inconclusive?: string;
  /** What the value is measured against (a baseline of the same run, or "absolute"). */
  baseline?: string;
  /** Figures shown beside the value in the summary (e.g. service CPU per request). */
  detail?: string;
}

/**
 * A figure the summary lists without a goal: the floor other goals are built on (redis-benchmark),
 * or context of a goal.
 */
export interface Reference {
  name: string;
  /** Formatted, with its unit. */
  measured: string;
  baseline?: string;
}

/** Settings the run used (all of them appear in the reports). */
export interface AuthBenchSettings {
  replicas: number;
  wrk: { threads: number; connections: number; durationSeconds: number; warmupSeconds: number };
  rounds: number;
  logLevels: string[];
  /** Logouts at the replica count of the throughput passes, and at each other point of the curve. */
  revokes: number;
  curveRevokes: number;
  /** Replica counts of the revoke-latency curve. */
  revokeReplicas: number[];
  /** The server of the bare express and peer apps (bare-server.ts); absent in older results: `concord`. */
  baselineServer?: 'express' | 'concord';
  cpuProfile: boolean;
}

/** Everything one `npm run bench -- auth` measured. */
export interface AuthBenchResult {
  scenario: 'auth';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  build: BuildInfo;
  settings: AuthBenchSettings;
  passes: ThroughputPass[];
  /** The point of {@link revokeCurve} with the throughput passes' replica count. */
  revoke: RevokeResult;
  /** Revoke latency by number of verifying replicas, ascending. */
  revokeCurve: RevokeResult[];
  goals: Goal[];
  references: Reference[];
  /** Where the replicas' CPU went, when `--cpu-prof` was given (figures then read low: profiling costs). */
  profile?: ProfileSummary;
}
