import type { Goal, ThroughputPass } from './auth.results';
import type { BuildInfo } from './build-info';
import type { ProfileSummary } from './cpu-profile';
import type { CpuAccount } from './cpu-usage';
import type { LostUpdateCount } from './lost-updates';
import type { MachineInfo } from './machine';
import type { Summary } from './stats';

/** The shape of `.run/bench/settings-<timestamp>.json`, also fed to the HTML and Markdown writers. */

/** Which side of the CAS comparison a run measured. */
export type CasTarget = 'ours' | 'pgbench';

/** One measured period of read-modify-writes on the spread keys. */
export interface CasRun {
  target: CasTarget;
  /** 0 for the warm-up. */
  round: number;
  seconds: number;
  /** Writes that took effect: 200s (ours), history rows written (pgbench). */
  commits: number;
  commitsPerSecond: number;
  /** 412s (ours), transactions whose CAS matched no row (pgbench). */
  conflicts: number;
  /** One read-modify-write: GET + PUT (ours), SELECT + CAS transaction (pgbench). */
  latencyMs: Summary;
  cpu: CpuAccount;
  /**
   * Database transactions (each autocommit statement is one) per commit: round trips to Postgres.
   * Ours includes the relay's and any other replica work on the stack's database during the run.
   */
  databaseTransactionsPerCommit: number;
}

/** Medians over the measured rounds of one side. */
export interface CasSide {
  commitsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** CPU milliseconds per 1000 commits by component, over all measured rounds. */
  cpuMsPer1kCommits: Record<string, number>;
  /** Median over rounds of {@link CasRun.databaseTransactionsPerCommit}. */
  databaseTransactionsPerCommit: number;
}

/** Spread-key CAS: ours through the gateway against pgbench with the service's statement. */
export interface CasResult {
  keys: number;
  clients: number;
  runs: CasRun[];
  ours: CasSide;
  /** Absent when pgbench is not installed ({@link pgbenchMissing} says so). */
  pgbench?: CasSide;
  pgbenchVersion?: string;
  pgbenchMissing?: string;
  /** Median ours ÷ median pgbench commits/s. */
  ratio?: number;
  roundRatios: number[];
  /** Geometric mean of {@link roundRatios}. */
  pairedRatio?: number;
  /** Ours, over every run including warm-up: final values against the 200s per key. */
  lostUpdates: LostUpdateCount;
  /** pgbench's database at the end: sum of the values against its history rows (must be equal). */
  pgbenchCheck?: { historyRows: number; sumOfIncrements: number };
  /** 502/504 answers to PUTs (the write may or may not have committed). */
  lostAnswers: number;
  foreignCpuShare: number;
  /** The pgbench script, for the report. */
  script?: string;
}

/** 16 writers on one key, retrying on 412. */
export interface HotKeyResult {
  writers: number;
  seconds: number;
  commits: number;
  commitsPerSecond: number;
  conflicts: number;
  /** 412s ÷ PUTs. */
  conflictRate: number;
  /** PUT attempts per commit. */
  attemptsPerCommit: number;
  latencyMs: Summary;
  finalValue: number;
  lostUpdates: LostUpdateCount;
  lostAnswers: number;
  foreignCpuShare: number;
}

/** GET with ETag against the bare handler, one request variant. */
export interface GetPass {
  /** `304` (If-None-Match matching) or `200` (plain). */
  variant: string;
  status: number;
  pass: ThroughputPass;
}

/** Everything one `npm run bench -- settings` measured. */
export interface SettingsBenchResult {
  scenario: 'settings';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  build: BuildInfo;
  settings: {
    settingsReplicas: number;
    logLevel: string;
    durationSeconds: number;
    warmupSeconds: number;
    rounds: number;
    keys: number;
    clients: number;
    wrk: { threads: number; connections: number };
    cpuProfile: boolean;
    replicaEnv: Record<string, string>;
  };
  cas: CasResult;
  hotKey: HotKeyResult;
  get: GetPass[];
  goals: Goal[];
  profile?: ProfileSummary;
}
