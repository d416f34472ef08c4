import { randomInt } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { ConcordClient } from '@concord/client';
import { Client } from 'pg';
import { runHotKey, type HotKeyOutcome } from '../support/hot-key-run';
import { fullAccount } from './auth-throughput';
import { commGroup, ownNginxGroup, pidGroup, trackCpu } from './cpu-usage';
import { countByKey, countLostUpdates } from './lost-updates';
import { benchKeyName, runPgbench } from './pgbench';
import type { CasRun, HotKeyResult } from './settings.results';
import { summarize } from './stats';

/** Spread keys are `1000001 …` (decimal, so pgbench's integer variables can name them). */
export const KEY_BASE = 1_000_000;
const BENCH_PATH = '/api/v1/settings/bench/';

/** Runs `fn` with a connection to `databaseUrl`. */
async function withDb<T>(databaseUrl: string, fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/**
 * Writes `keys` bench keys at value 0, each with its own revision from the global sequence, as
 * rows of a previous write would look. Both databases (the stack's, pgbench's) get the same rows,
 * so both sides run the UPDATE branch of the statement on the same table shape.
 */
export function seedBenchKeys(databaseUrl: string, keys: number, updatedBy: string): Promise<void> {
  return withDb(databaseUrl, async (db) => {
    await db.query(
      `INSERT INTO settings (namespace, key, value, revision, updated_at, updated_by)
       SELECT 'bench', ($1::bigint + i)::text, '0'::jsonb, nextval('settings_revision_seq'), now(), $2
         FROM generate_series(1, $3::int) AS i`,
      [KEY_BASE, updatedBy, keys],
    );
    await db.query('ANALYZE settings');
  });
}

/** The value of every stored bench key, by key. */
export function readBenchValues(databaseUrl: string): Promise<Map<string, number>> {
  return withDb(databaseUrl, async (db) => {
    const { rows } = await db.query<{ key: string; value: number }>(
      `SELECT key, value FROM settings WHERE namespace = 'bench' AND value IS NOT NULL`,
    );
    return new Map(rows.map((r) => [r.key, Number(r.value)]));
  });
}

/** What {@link readDatabaseTotals} reads. */
export interface DatabaseTotals {
  historyRows: number;
  sumOfValues: number;
  /** Transactions the database ended so far (pg_stat_database: commits + rollbacks). */
  transactions: number;
}

/**
 * History rows written so far, the sum of the spread keys' values and the transactions ended. Each
 * autocommit statement is a transaction, so the difference over a run counts database round trips
 * of both sides alike (PostgreSQL flushes these statistics within about a second).
 */
export function readDatabaseTotals(databaseUrl: string): Promise<DatabaseTotals> {
  return withDb(databaseUrl, async (db) => {
    const { rows } = await db.query<{ h: string; s: string | null; x: string }>(
      `SELECT (SELECT count(*) FROM settings_history) AS h,
              (SELECT sum(value::text::bigint) FROM settings WHERE namespace = 'bench') AS s,
              (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()) AS x`,
    );
    return {
      historyRows: Number(rows[0]!.h),
      sumOfValues: Number(rows[0]!.s ?? 0),
      transactions: Number(rows[0]!.x),
    };
  });
}

/** Waits out PostgreSQL's statistics flush (at most about a second after a backend's last transaction). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

/**
 * Between runs: vacuums the bench tables of `databaseUrl` and checkpoints, so the dead rows and WAL
 * one side's run left behind are not cleaned up (autovacuum, checkpointer: "postgres" CPU) during
 * the other side's run. pgbench writes 5–10x more rows per second, so without this the run after
 * pgbench's pays for it.
 */
export function settleDatabase(databaseUrl: string): Promise<void> {
  return withDb(databaseUrl, async (db) => {
    await db.query('VACUUM (ANALYZE) settings, settings_history, outbox');
    await db.query('CHECKPOINT');
  });
}

/**
 * CPU per component during a CAS run. "auth" is the auth replica: it follows every
 * `settings.changed` event too, so its share is part of what a commit costs.
 */
function casGroups(servicePids: () => number[], authPids: () => number[]) {
  return [
    pidGroup('service', servicePids),
    pidGroup('auth', authPids),
    ownNginxGroup('nginx'),
    commGroup('postgres', 'postgres'),
    commGroup('redis', 'redis-server'),
    commGroup('pgbench', 'pgbench'),
  ];
}

/** Options of {@link runTimedWriters}. */
interface TimedWriters {
  clients: ConcordClient[];
  token: string;
  seconds: number;
  path: string | (() => string);
  label: string;
  progress(line: string): void;
}

/** {@link runHotKey} for `seconds`, with a progress line every 5 s; unexpected answers fail the run. */
async function runTimedWriters(o: TimedWriters): Promise<{ outcome: HotKeyOutcome; seconds: number }> {
  const started = performance.now();
  const deadline = started + o.seconds * 1000;
  let granted = 0;
  const ticker = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    o.progress(`${o.label} ${s.toFixed(0)}s: ${granted} commits (${(granted / s).toFixed(0)}/s)`);
  }, 5_000);
  let outcome: HotKeyOutcome;
  try {
    outcome = await runHotKey({
      clients: o.clients,
      token: o.token,
      path: o.path,
      increments: Number.POSITIVE_INFINITY,
      stop: () => performance.now() >= deadline,
      onGranted: (n) => (granted = n),
    });
  } finally {
    clearInterval(ticker);
  }
  if (outcome.unexpected.length > 0) {
    throw new Error(
      `${o.label}: unexpected answers, the run is not a valid measurement: ${JSON.stringify(outcome.unexpected.slice(0, 3))}`,
    );
  }
  return { outcome, seconds: (performance.now() - started) / 1000 };
}

/** Options of {@link measureOurCas}. */
export interface OurCasOptions {
  /** The stack's database (for the transaction count). */
  databaseUrl: string;
  clients: ConcordClient[];
  token: string;
  keys: number;
  seconds: number;
  round: number;
  servicePids(): number[];
  /** The auth replica (a follower of the events), accounted apart. */
  authPids(): number[];
  /** 200s per key, added to over all runs (the lost-update check comes at the end). */
  acknowledged: Map<string, number>;
  progress(line: string): void;
}

/** Each client read-modify-writes random spread keys through the gateway for `seconds`. */
export async function measureOurCas(o: OurCasOptions): Promise<{ run: CasRun; lostAnswers: number }> {
  const txBefore = (await readDatabaseTotals(o.databaseUrl)).transactions;
  const tracker = trackCpu();
  const { outcome, seconds } = await runTimedWriters({
    ...o,
    path: () => `${BENCH_PATH}${benchKeyName(randomInt(1, o.keys + 1), KEY_BASE)}`,
    label: `[cas] ${o.round === 0 ? 'warm-up' : `round ${o.round}`} ours`,
  });
  const cpu = fullAccount(tracker.finish(casGroups(o.servicePids, o.authPids)));
  for (const [key, n] of countByKey(outcome.granted.map((g) => g.path.slice(BENCH_PATH.length)))) {
    o.acknowledged.set(key, (o.acknowledged.get(key) ?? 0) + n);
  }
  const commits = outcome.granted.length;
  await settle();
  // Less this function's own read after the run (one transaction).
  const transactions = (await readDatabaseTotals(o.databaseUrl)).transactions - txBefore - 1;
  return {
    run: {
      target: 'ours',
      databaseTransactionsPerCommit: transactions / Math.max(1, commits),
      round: o.round,
      seconds,
      commits,
      commitsPerSecond: commits / seconds,
      conflicts: outcome.conflicts,
      latencyMs: summarize(outcome.granted.map((g) => g.cycleMs)),
      cpu,
    },
    lostAnswers: outcome.lost.length,
  };
}

/** Options of {@link measurePgbenchCas}. */
export interface PgbenchCasOptions {
  databaseUrl: string;
  scriptPath: string;
  clients: number;
  threads: number;
  seconds: number;
  round: number;
  tmp: string;
  progress(line: string): void;
}

/** pgbench with the service's statement on its private copy of the table for `seconds`. */
export async function measurePgbenchCas(o: PgbenchCasOptions): Promise<CasRun> {
  const label = `[cas] ${o.round === 0 ? 'warm-up' : `round ${o.round}`} pgbench`;
  const logDir = await mkdtemp(path.join(o.tmp, 'pgbench-'));
  const totalsBefore = await readDatabaseTotals(o.databaseUrl);
  const tracker = trackCpu();
  const { summary, latenciesMs } = await runPgbench({
    databaseUrl: o.databaseUrl,
    scriptPath: o.scriptPath,
    clients: o.clients,
    threads: o.threads,
    durationSeconds: o.seconds,
    logDir,
    onProgress: (line) => o.progress(`${label} ${line}`),
  });
  const cpu = fullAccount(
    tracker.finish(
      casGroups(
        () => [],
        () => [],
      ),
    ),
  );
  if (summary.failed > 0) throw new Error(`${label}: ${summary.failed} failed transactions`);
  await settle();
  const totalsAfter = await readDatabaseTotals(o.databaseUrl);
  const commits = totalsAfter.historyRows - totalsBefore.historyRows;
  const transactions = totalsAfter.transactions - totalsBefore.transactions - 1;
  return {
    target: 'pgbench',
    databaseTransactionsPerCommit: transactions / Math.max(1, commits),
    round: o.round,
    seconds: summary.durationSeconds,
    commits,
    commitsPerSecond: commits / summary.durationSeconds,
    conflicts: summary.transactions - commits,
    latencyMs: summarize(latenciesMs),
    cpu,
  };
}

/** Options of {@link measureHotKey}. */
export interface HotKeyRunOptions {
  clients: ConcordClient[];
  token: string;
  seconds: number;
  databaseUrl: string;
  /** A key no other part of the run writes (its value starts at 0). */
  key: string;
  servicePids(): number[];
  /** The auth replica (a follower of the events), accounted apart. */
  authPids(): number[];
  progress(line: string): void;
}

/** Every client read-modify-writes the one key, retrying on 412, for `seconds`. */
export async function measureHotKey(o: HotKeyRunOptions): Promise<HotKeyResult> {
  const tracker = trackCpu();
  const { outcome, seconds } = await runTimedWriters({
    ...o,
    path: `${BENCH_PATH}${o.key}`,
    label: '[hot key]',
  });
  const cpu = fullAccount(tracker.finish(casGroups(o.servicePids, o.authPids)));
  const finals = await readBenchValues(o.databaseUrl);
  const commits = outcome.granted.length;
  const puts = commits + outcome.conflicts + outcome.lost.length;
  return {
    writers: o.clients.length,
    seconds,
    commits,
    commitsPerSecond: commits / seconds,
    conflicts: outcome.conflicts,
    conflictRate: outcome.conflicts / Math.max(1, puts),
    attemptsPerCommit: puts / Math.max(1, commits),
    latencyMs: summarize(outcome.granted.map((g) => g.cycleMs)),
    finalValue: finals.get(o.key) ?? 0,
    lostUpdates: countLostUpdates(
      new Map([[o.key, commits]]),
      new Map([[o.key, finals.get(o.key) ?? 0]]),
      () => 0,
    ),
    lostAnswers: outcome.lost.length,
    foreignCpuShare: (cpu.groupsMs.other ?? 0) / Math.max(1, cpu.machineBusyMs),
  };
}
