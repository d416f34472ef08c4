import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConcordClient } from '@concord/client';
import { createTestDatabase } from '@concord/db';
import { casSql } from '../../services/settings-service/src/data-access/settings-cas';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import type { Goal } from './auth.results';
import { FOREIGN_CPU_WARNING, measureThroughput } from './auth-throughput';
import { startBaselineGateway } from './baseline-gateway';
import type { BenchContext } from './bench-context';
import { startBenchStack, type BenchStack } from './bench-stack';
import { beginBenchRun, publishBenchResult } from './bench-publish';
import { benchTokens } from './bench-users';
import { f } from './benchmarks-doc';
import { renderSettingsSection } from './settings-doc';
import { summarizeCpuProfiles } from './cpu-profile';
import { countLostUpdates } from './lost-updates';
import { describeMachine } from './machine';
import { pgbenchVersion, writePgbenchScript } from './pgbench';
import { renderSettingsHtmlReport } from './settings-report-html';
import {
  KEY_BASE,
  measureHotKey,
  measureOurCas,
  measurePgbenchCas,
  readBenchValues,
  readDatabaseTotals,
  seedBenchKeys,
  settleDatabase,
} from './settings-cas-run';
import type { CasResult, CasRun, CasSide, GetPass, SettingsBenchResult } from './settings.results';
import { parseSettingsOptions, type SettingsOptions } from './settings.options';
import { median } from './stats';
import { writeWrkScript } from './wrk';

/** The issues' acceptance goals (issue 7, issue 10 item 4). */
const CAS_RATIO_GOAL = 0.5;
const GET_RATIO_GOAL = 0.8;
const HOT_KEY = 'bench_hot_key';
const PROBE_KEY = 'bench_etag_probe';

function summarizeSide(runs: CasRun[]): CasSide {
  const commits = runs.reduce((s, r) => s + r.commits, 0);
  const cpuMsPer1kCommits: Record<string, number> = {};
  for (const r of runs) {
    for (const [name, ms] of Object.entries(r.cpu.groupsMs)) {
      cpuMsPer1kCommits[name] = (cpuMsPer1kCommits[name] ?? 0) + (ms * 1000) / Math.max(1, commits);
    }
  }
  return {
    commitsPerSecond: median(runs.map((r) => r.commitsPerSecond)),
    latencyMs: {
      p50: median(runs.map((r) => r.latencyMs.p50)),
      p99: median(runs.map((r) => r.latencyMs.p99)),
    },
    cpuMsPer1kCommits,
    databaseTransactionsPerCommit: median(runs.map((r) => r.databaseTransactionsPerCommit)),
  };
}

function line(run: CasRun): string {
  const busy = (100 * run.cpu.machineBusyMs) / Math.max(1, run.cpu.machineTotalMs);
  return (
    `${run.target.padEnd(7)} ${run.commitsPerSecond.toFixed(0).padStart(6)} commits/s  ${run.conflicts} conflicts` +
    `  p50 ${run.latencyMs.p50.toFixed(2)} ms  p99 ${run.latencyMs.p99.toFixed(2)} ms  ${run.databaseTransactionsPerCommit.toFixed(1)} db transactions/commit  machine busy ${busy.toFixed(0)}%`
  );
}

/**
 * Spread CAS: warm-up of each side, then `rounds` alternating pairs (pgbench first in odd rounds),
 * then the lost-update check over every write ours made.
 */
async function measureCas(
  ctx: BenchContext,
  o: SettingsOptions,
  bench: BenchStack,
  clients: ConcordClient[],
  token: string,
  userId: string,
  tmp: string,
): Promise<CasResult> {
  const version = await pgbenchVersion();
  const pgbenchMissing = version
    ? undefined
    : 'pgbench is not installed (Debian: apt-get install -y postgresql-contrib); the CAS ratio could not be measured';
  if (pgbenchMissing) ctx.progress(`[cas] WARNING: ${pgbenchMissing}`);
  const acknowledged = new Map<string, number>();
  let lostAnswers = 0;
  const runs: CasRun[] = [];
  let pgDb: { url: string; drop(): Promise<void> } | undefined;
  let scriptPath: string | undefined;
  let script: string | undefined;
  if (!pgbenchMissing) {
    ctx.progress(`[cas] private database for pgbench (migrated, ${o.keys} bench keys seeded)`);
    pgDb = await createTestDatabase({ migrate: true });
    ctx.defer('pgbench database', () => pgDb!.drop());
    await seedBenchKeys(pgDb.url, o.keys, userId);
    const scriptOptions = { casSql: casSql('outbox'), keys: o.keys, keyBase: KEY_BASE, updatedBy: userId };
    scriptPath = await writePgbenchScript(tmp, scriptOptions);
    script = readFileSync(scriptPath, 'utf8');
  }
  const ours = (round: number, seconds: number) =>
    measureOurCas({
      databaseUrl: bench.stack.db.url,
      clients,
      token,
      keys: o.keys,
      seconds,
      round,
      servicePids: bench.settingsPids,
      authPids: bench.pids,
      acknowledged,
      progress: ctx.progress,
    }).then(({ run, lostAnswers: n }) => {
      lostAnswers += n;
      return run;
    });
  const pgbench = (round: number, seconds: number) =>
    measurePgbenchCas({
      databaseUrl: pgDb!.url,
      scriptPath: scriptPath!,
      clients: o.clients,
      threads: Math.min(o.clients, os.availableParallelism()),
      seconds,
      round,
      tmp,
      progress: ctx.progress,
    });
  const sides = pgbenchMissing ? [ours] : [pgbench, ours];
  const settleBoth = async () => {
    await settleDatabase(bench.stack.db.url);
    if (pgDb) await settleDatabase(pgDb.url);
  };
  for (const side of sides) {
    await settleBoth();
    const run = await side(0, o.warmupSeconds);
    ctx.progress(`[cas] warm-up  ${line(run)}`);
  }
  for (let round = 1; round <= o.rounds; round++) {
    for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
      await settleBoth();
      const run = await side(round, o.durationSeconds);
      runs.push(run);
      ctx.progress(`[cas] round ${round}/${o.rounds} ${line(run)}`);
    }
  }
  ctx.progress('[cas] checking every key: final value against the 200s it got');
  const finals = await readBenchValues(bench.stack.db.url);
  finals.delete(HOT_KEY);
  finals.delete(PROBE_KEY);
  const lostUpdates = countLostUpdates(acknowledged, finals, () => 0);
  let pgbenchCheck: CasResult['pgbenchCheck'];
  if (pgDb) {
    const totals = await readDatabaseTotals(pgDb.url);
    pgbenchCheck = { historyRows: totals.historyRows, sumOfIncrements: totals.sumOfValues };
  }
  const oursRuns = runs.filter((r) => r.target === 'ours');
  const pgRuns = runs.filter((r) => r.target === 'pgbench');
  const oursSide = summarizeSide(oursRuns);
  const pgSide = pgRuns.length > 0 ? summarizeSide(pgRuns) : undefined;
  const roundRatios = pgSide
    ? Array.from({ length: o.rounds }, (_, i) => {
        const rate = (t: string) => runs.find((r) => r.round === i + 1 && r.target === t)!.commitsPerSecond;
        return rate('ours') / rate('pgbench');
      })
    : [];
  const busy = runs.reduce((s, r) => s + r.cpu.machineBusyMs, 0);
  const foreign = runs.reduce((s, r) => s + (r.cpu.groupsMs.other ?? 0), 0);
  return {
    keys: o.keys,
    clients: o.clients,
    runs,
    ours: oursSide,
    pgbench: pgSide,
    pgbenchVersion: version,
    pgbenchMissing,
    ratio: pgSide ? oursSide.commitsPerSecond / pgSide.commitsPerSecond : undefined,
    roundRatios,
    pairedRatio:
      roundRatios.length > 0
        ? Math.exp(roundRatios.reduce((s, x) => s + Math.log(x), 0) / roundRatios.length)
        : undefined,
    lostUpdates,
    pgbenchCheck,
    lostAnswers,
    foreignCpuShare: foreign / Math.max(1, busy),
    script,
  };
}

/** GET with ETag: the probe key through our gateway against the bare handler behind its own nginx. */
async function measureGets(
  ctx: BenchContext,
  o: SettingsOptions,
  bench: BenchStack,
  tokens: readonly string[],
  tmp: string,
): Promise<GetPass[]> {
  const [token] = tokens;
  if (!token) throw new Error('no token');
  const client = bench.stack.client();
  const probePath = `/api/v1/settings/bench/${PROBE_KEY}`;
  const put = await client.request('PUT', probePath, {
    token,
    headers: { 'if-match': '"0"' },
    body: { value: 1 },
  });
  if (put.status !== 200) throw new Error(`preflight: PUT ${probePath} answered ${put.status}: ${put.text}`);
  const read = await client.request('GET', probePath, { token });
  const etag = String(read.headers.etag);
  if (read.status !== 200 || !/^"\d+"$/.test(etag))
    throw new Error(`preflight: GET ${probePath} answered ${read.status} with ETag ${etag}`);
  ctx.progress(
    `[get] ${o.settingsReplicas} bare express processes behind their own nginx, serving the same ${read.text.length}-byte setting and ETag`,
  );
  const baseline = await startBaselineGateway(o.settingsReplicas, {
    BASELINE_SETTING_BODY: read.text,
    BASELINE_SETTING_ETAG: etag,
  });
  const stopBaseline = ctx.defer('baseline gateway', () => baseline.stop());
  const bare = new ConcordClient({ baseUrl: baseline.url, ca: baseline.caCert });
  try {
    const variants = [
      { variant: '304', status: 304, headers: { 'If-None-Match': etag } },
      { variant: '200', status: 200, headers: {} as Record<string, string> },
    ];
    for (const v of variants) {
      // wrk counts any 2xx/3xx as success: check here that each side answers what is measured.
      const seen = new Set<string>();
      for (let i = 0; i < 10 * o.settingsReplicas && seen.size < o.settingsReplicas; i++) {
        const res = await client.request('GET', probePath, { token, headers: v.headers });
        if (res.status !== v.status)
          throw new Error(`preflight: ours answered ${res.status} for ${v.variant}`);
        seen.add(String(res.headers['x-concord-replica']));
      }
      if (seen.size < o.settingsReplicas) throw new Error(`preflight: only ${[...seen].join(', ')} answered`);
      const res = await bare.request('GET', probePath, { token, headers: v.headers });
      if (res.status !== v.status || (v.status === 200 && res.text !== read.text))
        throw new Error(`preflight: the baseline answered ${res.status} for ${v.variant}`);
    }
    const scriptPath = await writeWrkScript(tmp);
    const passes: GetPass[] = [];
    for (const v of variants) {
      const pass = await measureThroughput({
        logLevel: o.logLevel,
        label: `get ${v.variant}`,
        ours: {
          url: bench.stack.gatewayUrl.replace('//localhost:', '//127.0.0.1:'),
          pids: bench.settingsPids,
        },
        baseline: { url: baseline.url, pids: baseline.pids },
        tokens,
        path: probePath,
        headers: v.headers,
        wrk: {
          threads: o.threads,
          connections: o.connections,
          durationSeconds: o.durationSeconds,
          warmupSeconds: o.warmupSeconds,
        },
        rounds: o.rounds,
        scriptPath,
        logBytes: bench.logBytes,
        progress: ctx.progress,
      });
      ctx.progress(
        `[get ${v.variant}] ours ${pass.ours.requestsPerSecond.toFixed(0)} req/s, baseline ${pass.baseline.requestsPerSecond.toFixed(0)} req/s, ratio ${pass.ratio.toFixed(3)}, paired ratio ${pass.pairedRatio.toFixed(3)}`,
      );
      passes.push({ variant: v.variant, status: v.status, pass });
    }
    return passes;
  } finally {
    bare.close();
    await stopBaseline();
  }
}

function goalsOf(r: Pick<SettingsBenchResult, 'cas' | 'hotKey' | 'get'>): Goal[] {
  const busyNote = (share: number) =>
    share > FOREIGN_CPU_WARNING
      ? `${(100 * share).toFixed(0)}% of the CPU went to other work; rerun on a quiet machine`
      : undefined;
  const cas = r.cas;
  const casRatio = cas.ratio === undefined ? Number.NaN : Math.min(cas.ratio, cas.pairedRatio ?? cas.ratio);
  const goals: Goal[] = [
    {
      name: `CAS commits/s ours ÷ pgbench, ${cas.keys} keys, ${cas.clients} clients (lower of the two ratios)`,
      target: `≥ ${CAS_RATIO_GOAL}`,
      value: casRatio,
      met: casRatio >= CAS_RATIO_GOAL,
      inconclusive: cas.pgbenchMissing ?? busyNote(cas.foreignCpuShare),
      baseline:
        "pgbench running the service's CAS statement (the same UPDATE shape) on a private database, same rounds",
      detail: `${f(cas.ours.commitsPerSecond, 0)} vs ${f(cas.pgbench?.commitsPerSecond ?? Number.NaN, 0)} commits/s`,
    },
    {
      name: 'lost updates, spread keys (final values against the 200s per key)',
      target: '= 0',
      value: cas.lostUpdates.lost,
      met: cas.lostUpdates.lost === 0 && cas.lostUpdates.unacknowledged === 0,
      baseline: 'absolute',
      detail: `${cas.lostUpdates.acknowledged} 200s on ${cas.lostUpdates.keysWritten} keys`,
    },
    {
      name: `lost updates, hot key (${r.hotKey.writers} writers)`,
      target: '= 0',
      value: r.hotKey.lostUpdates.lost,
      met: r.hotKey.lostUpdates.lost === 0 && r.hotKey.lostUpdates.unacknowledged === 0,
      baseline: 'absolute',
      detail: `${r.hotKey.commits} 200s`,
    },
  ];
  for (const g of r.get) {
    const ratio = Math.min(g.pass.ratio, g.pass.pairedRatio);
    goals.push({
      name: `GET ${g.variant === '304' ? 'If-None-Match → 304' : 'plain → 200'} req/s ours ÷ bare express (lower of the two ratios)`,
      target: `≥ ${GET_RATIO_GOAL}`,
      value: ratio,
      met: ratio >= GET_RATIO_GOAL,
      inconclusive: busyNote(g.pass.foreignCpuShare),
      baseline: 'bare express serving the same bytes and ETag behind an identical nginx, same rounds',
      detail: `service CPU per request: ours ${f(g.pass.ours.cpuMsPer1kRequests.service ?? Number.NaN, 0)} µs, bare ${f(g.pass.baseline.cpuMsPer1kRequests.service ?? Number.NaN, 0)} µs`,
    });
  }
  return goals;
}

/**
 * `npm run bench -- settings`: spread-key CAS through nginx and two settings replicas against
 * pgbench running the service's statement; a hot key; GET with ETag against a bare express handler
 * behind the same nginx. Writes `.run/bench/settings-<timestamp>.{json,html}` and the
 * docs/benchmarks.md section.
 */
export async function settingsScenario(ctx: BenchContext): Promise<number> {
  const o = parseSettingsOptions(ctx.args);
  const { loadAtStart, build, startedAt, stamp, outDir, tmp, profileDir } = beginBenchRun(ctx, 'settings', {
    cpuProf: o.cpuProf,
  });

  ctx.progress(
    `starting 1 auth replica, ${o.settingsReplicas} settings replicas (LOG_LEVEL=${o.logLevel}), private database, Redis prefix and nginx`,
  );
  const bench = await startBenchStack({
    replicas: 1,
    settingsReplicas: o.settingsReplicas,
    logLevel: o.logLevel,
    progress: ctx.progress,
    env: {
      ...o.replicaEnv,
      ...(profileDir
        ? {
            NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-profiler.preload.js')}`,
            CONCORD_CPU_PROFILE_DIR: profileDir,
          }
        : {}),
    },
  });
  const release = ctx.defer('settings stack', () => bench.stack.cleanup());
  const machine = await describeMachine(bench.stack.db.url, bench.stack.redisUrl, loadAtStart);
  const admin = bench.stack.client();
  await admin.setup('bench.ceo', PASSWORD);
  const { access_token: token } = await admin.login('bench.ceo', PASSWORD);
  const me = await admin.request<{ id: string }>('GET', '/api/v1/auth/me', { token });
  if (me.status !== 200) throw new Error(`GET /me answered ${me.status}`);
  ctx.progress(`seeding ${o.keys} bench keys at 0`);
  await seedBenchKeys(bench.stack.db.url, o.keys, me.body.id);
  const clients = Array.from({ length: o.clients }, () => bench.stack.client());

  const cas = await measureCas(ctx, o, bench, clients, token, me.body.id, tmp);
  const l = cas.lostUpdates;
  ctx.progress(
    `[cas] ${l.acknowledged} 200s on ${l.keysWritten} keys: ${l.lost} lost, ${l.unacknowledged} committed without a 200, ${cas.lostAnswers} 502/504`,
  );
  ctx.progress(`[hot key] ${o.clients} writers on one key for ${o.durationSeconds}s, retrying on 412`);
  const hotKey = await measureHotKey({
    clients,
    token,
    seconds: o.durationSeconds,
    databaseUrl: bench.stack.db.url,
    key: HOT_KEY,
    servicePids: bench.settingsPids,
    authPids: bench.pids,
    progress: ctx.progress,
  });
  ctx.progress(
    `[hot key] ${hotKey.commitsPerSecond.toFixed(0)} commits/s, 412 rate ${(100 * hotKey.conflictRate).toFixed(1)}%, final value ${hotKey.finalValue} for ${hotKey.commits} 200s`,
  );
  const tokens = await benchTokens({
    admin,
    client: () => bench.stack.client(),
    username: 'bench.ceo',
    password: PASSWORD,
    token,
    count: o.threads,
  });
  const get = await measureGets(ctx, o, bench, tokens, tmp);
  ctx.progress('stopping the stack, dropping its database and Redis keys');
  await release();

  const partial = { cas, hotKey, get };
  const goals = goalsOf(partial);
  const result: SettingsBenchResult = {
    scenario: 'settings',
    command: ctx.command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    build,
    settings: {
      settingsReplicas: o.settingsReplicas,
      logLevel: o.logLevel,
      durationSeconds: o.durationSeconds,
      warmupSeconds: o.warmupSeconds,
      rounds: o.rounds,
      keys: o.keys,
      clients: o.clients,
      wrk: { threads: o.threads, connections: o.connections },
      cpuProfile: o.cpuProf,
      replicaEnv: o.replicaEnv,
    },
    ...partial,
    goals,
    profile: profileDir ? await summarizeCpuProfiles(profileDir) : undefined,
  };
  const code = publishBenchResult(ctx, {
    name: 'settings',
    stamp,
    outDir,
    result,
    goals,
    html: renderSettingsHtmlReport,
    section: renderSettingsSection,
    keepDocs: o.skipDocs
      ? '--skip-docs'
      : o.cpuProf
        ? '--cpu-prof'
        : Object.keys(o.replicaEnv).length > 0
          ? '--replica-env'
          : undefined,
    checkGoals: o.checkGoals,
  });
  if (result.profile) {
    ctx.progress(
      `replica CPU by package: ${result.profile.byPackage.map((e) => `${e.name} ${e.percent}%`).join(', ')}`,
    );
  }
  return code;
}
