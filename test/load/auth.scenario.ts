import path from 'node:path';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import type { AuthBenchResult, Goal, RevokeResult, ThroughputPass } from './auth.results';
import { parseAuthOptions, type AuthOptions } from './auth.options';
import { preflight } from './auth-preflight';
import { FOREIGN_CPU_WARNING, measureThroughput } from './auth-throughput';
import { startBaselineGateway, type BaselineGateway } from './baseline-gateway';
import type { BenchContext } from './bench-context';
import { startBenchStack } from './bench-stack';
import { renderAuthSection } from './benchmarks-doc';
import { beginBenchRun, publishBenchResult } from './bench-publish';
import { summarizeCpuProfiles } from './cpu-profile';
import { describeMachine, type MachineInfo } from './machine';
import { renderHtmlReport } from './report-html';
import { measureRevokeLatency } from './revoke-latency';
import { writeWrkScript } from './wrk';

/** The issue's acceptance goals. */
const RATIO_GOAL = 0.9;
const REVOKE_P99_GOAL_MS = 20;

interface PassOutcome {
  pass: ThroughputPass;
  revoke?: RevokeResult;
  machine?: MachineInfo;
}

/** One replica log level: a fresh stack, the throughput comparison and (first pass) the revoke loop. */
async function runPass(
  ctx: BenchContext,
  o: AuthOptions,
  level: string,
  first: boolean,
  shared: { baseline: BaselineGateway; scriptPath: string; loadAtStart: number; profileDir?: string },
): Promise<PassOutcome> {
  ctx.progress(`[${level}] starting ${o.replicas} auth replicas, private database, Redis prefix and nginx`);
  const env = shared.profileDir
    ? {
        NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-profiler.preload.js')}`,
        CONCORD_CPU_PROFILE_DIR: shared.profileDir,
      }
    : undefined;
  const bench = await startBenchStack({ replicas: o.replicas, logLevel: level, env });
  const release = ctx.defer(`auth stack (${level})`, () => bench.stack.cleanup());
  try {
    const machine = first
      ? await describeMachine(bench.stack.db.url, bench.stack.redisUrl, shared.loadAtStart)
      : undefined;
    const admin = bench.stack.client();
    await admin.setup('bench.ceo', PASSWORD);
    const { access_token: token } = await admin.login('bench.ceo', PASSWORD);
    await preflight(bench, shared.baseline, token, o.replicas);
    const pass = await measureThroughput({
      logLevel: level,
      ours: { url: bench.stack.gatewayUrl.replace('//localhost:', '//127.0.0.1:'), pids: bench.pids },
      baseline: { url: shared.baseline.url, pids: shared.baseline.pids },
      token,
      wrk: o,
      rounds: o.rounds,
      scriptPath: shared.scriptPath,
      logBytes: bench.logBytes,
      progress: ctx.progress,
    });
    ctx.progress(
      `[${level}] ours ${pass.ours.requestsPerSecond.toFixed(0)} req/s, baseline ${pass.baseline.requestsPerSecond.toFixed(0)} req/s, ratio ${pass.ratio.toFixed(3)}, paired ratio ${pass.pairedRatio.toFixed(3)}`,
    );
    let revoke: RevokeResult | undefined;
    if (first) {
      ctx.progress(`[revoke] ${o.revokes} sequential login → logout through the gateway`);
      revoke = await measureRevokeLatency({
        client: bench.stack.client(),
        username: 'bench.ceo',
        password: PASSWORD,
        count: o.revokes,
        deadlineMs: 60_000 + o.revokes * 1_000,
        progress: ctx.progress,
      });
      const s = revoke.summary;
      ctx.progress(
        `[revoke] p50 ${s.p50.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`,
      );
    }
    return { pass, revoke, machine };
  } finally {
    ctx.progress(`[${level}] stopping the stack, dropping its database and Redis keys`);
    await release();
  }
}

/**
 * `npm run bench -- auth`: GET /api/v1/auth/me through nginx against a bare express baseline
 * behind an identical nginx, at each replica log level, then revoke (logout) latency with two
 * replicas. Writes `.run/bench/auth-<timestamp>.{json,html}` and the docs/benchmarks.md section.
 */
export async function authScenario(ctx: BenchContext): Promise<number> {
  const o = parseAuthOptions(ctx.args);
  const { loadAtStart, build, startedAt, stamp, outDir, tmp, profileDir } = beginBenchRun(ctx, 'auth', {
    cpuProf: o.cpuProf,
  });

  ctx.progress(`starting ${o.replicas} bare express processes behind their own nginx (baseline)`);
  const baseline = await startBaselineGateway(o.replicas);
  const stopBaseline = ctx.defer('baseline gateway', () => baseline.stop());
  const shared = { baseline, scriptPath: await writeWrkScript(tmp), loadAtStart };

  const outcomes: PassOutcome[] = [];
  for (const [i, level] of o.logLevels.entries()) {
    outcomes.push(
      await runPass(ctx, o, level, i === 0, { ...shared, profileDir: i === 0 ? profileDir : undefined }),
    );
  }
  await stopBaseline();
  const revoke = outcomes[0]!.revoke!;
  const passes = outcomes.map((x) => x.pass);
  // The lower of the two ratio estimates: a goal should not be met by the choice of estimator.
  const ratio = Math.min(passes[0]!.ratio, passes[0]!.pairedRatio);
  const busiest = Math.max(...passes.map((p) => p.foreignCpuShare));
  // Other work hits the rounds unevenly and can move the ratio either way (seen: ±0.2).
  const busy =
    busiest > FOREIGN_CPU_WARNING
      ? `${(100 * busiest).toFixed(0)}% of the CPU went to other work; rerun on a quiet machine`
      : undefined;
  const goals: Goal[] = [
    {
      name: `/me req/s ours ÷ baseline at LOG_LEVEL=${passes[0]!.logLevel} (lower of the two ratios)`,
      target: `≥ ${RATIO_GOAL}`,
      value: ratio,
      met: ratio >= RATIO_GOAL,
      inconclusive: busy,
    },
    {
      name: `revoke (logout) p99 with ${o.replicas} replicas`,
      target: `≤ ${REVOKE_P99_GOAL_MS} ms`,
      value: revoke.summary.p99,
      met: revoke.summary.p99 <= REVOKE_P99_GOAL_MS,
      inconclusive: busy,
    },
  ];
  const result: AuthBenchResult = {
    scenario: 'auth',
    command: ctx.command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: outcomes[0]!.machine!,
    build,
    settings: {
      replicas: o.replicas,
      wrk: {
        threads: o.threads,
        connections: o.connections,
        durationSeconds: o.durationSeconds,
        warmupSeconds: o.warmupSeconds,
      },
      rounds: o.rounds,
      logLevels: o.logLevels,
      revokes: o.revokes,
      cpuProfile: o.cpuProf,
    },
    passes,
    revoke,
    goals,
    profile: profileDir ? await summarizeCpuProfiles(profileDir) : undefined,
  };

  const code = publishBenchResult(ctx, {
    name: 'auth',
    stamp,
    outDir,
    result,
    goals,
    html: renderHtmlReport,
    section: renderAuthSection,
    keepDocs: o.skipDocs ? '--skip-docs' : o.cpuProf ? '--cpu-prof' : undefined,
    checkGoals: o.checkGoals,
  });
  if (result.profile) {
    ctx.progress(
      `replica CPU by package: ${result.profile.byPackage.map((e) => `${e.name} ${e.percent}%`).join(', ')}`,
    );
  }
  return code;
}
