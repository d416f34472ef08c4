import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import { authGoals } from './auth-goals';
import type { AuthBenchResult, RevokeResult, ThroughputPass } from './auth.results';
import { parseAuthOptions, type AuthOptions } from './auth.options';
import { preflight } from './auth-preflight';
import { measureThroughput } from './auth-throughput';
import { startBaselineGateway, type BaselineGateway } from './baseline-gateway';
import type { BenchContext } from './bench-context';
import { startBenchStack, type BenchStack } from './bench-stack';
import { renderAuthSection } from './benchmarks-doc';
import { beginBenchRun, publishBenchResult } from './bench-publish';
import { benchTokens } from './bench-users';
import { summarizeCpuProfiles } from './cpu-profile';
import { describeMachine, type MachineInfo } from './machine';
import { renderHtmlReport } from './report-html';
import { measureRevokeLatency } from './revoke-latency';
import { writeWrkScript } from './wrk';

const USER = 'bench.ceo';
/** Unmeasured logouts before each point of the curve (see RevokeOptions.warmup). */
const REVOKE_WARMUP = 3;

interface PassOutcome {
  pass: ThroughputPass;
  revoke?: RevokeResult;
  machine?: MachineInfo;
}

interface Shared {
  baseline: BaselineGateway;
  scriptPath: string;
  loadAtStart: number;
  profileDir?: string;
}

/**
 * The peer app (peer-app.ts) behind its own nginx, configured as a team would configure it for this
 * auth-service: its internal JWKS URL, and the issuer, audience and algorithm its tokens carry.
 */
function startPeerGateway(bench: BenchStack, token: string, o: AuthOptions): Promise<BaselineGateway> {
  const claims = decodeJwt(token);
  const { alg } = decodeProtectedHeader(token);
  if (typeof claims.iss !== 'string' || typeof claims.aud !== 'string' || !alg)
    throw new Error('the access token lacks iss, aud or alg');
  return startBaselineGateway(
    o.replicas,
    {
      BASELINE_SERVER: o.baselineServer,
      JWKS_URL: `${bench.stack.replicas[0]!.internalUrl}/.well-known/jwks.json`,
      JWT_ISSUER: claims.iss,
      JWT_AUDIENCE: claims.aud,
      JWT_ALGORITHMS: alg,
    },
    'peer',
  );
}

/** Sequential logouts on `bench`, the revoked token then sent to each of its replicas directly. */
async function revokePoint(ctx: BenchContext, bench: BenchStack, count: number): Promise<RevokeResult> {
  const replicas = bench.stack.replicas.length;
  const tag = `[revoke ${replicas} replicas]`;
  ctx.progress(`${tag} ${count} sequential login → logout through the gateway, then /me on every replica`);
  const revoke = await measureRevokeLatency({
    client: bench.stack.client(),
    direct: bench.stack.replicas.map((_, i) => bench.stack.client({ replica: i })),
    username: USER,
    password: PASSWORD,
    count,
    warmup: REVOKE_WARMUP,
    deadlineMs: 60_000 + count * 1_000,
    progress: ctx.progress,
  });
  const s = revoke.summary;
  ctx.progress(
    `${tag} p50 ${s.p50.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(2)} ms; ${revoke.violations} accepted after 204`,
  );
  return revoke;
}

/** The replica environment that profiles every replica into `profileDir`, when asked for. */
function profileEnv(profileDir: string | undefined): Record<string, string> | undefined {
  return profileDir
    ? {
        NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-profiler.preload.js')}`,
        CONCORD_CPU_PROFILE_DIR: profileDir,
      }
    : undefined;
}

/**
 * One replica log level: a fresh stack and the throughput comparison; the first pass also measures
 * the peer app and the revoke loop at `--replicas`.
 */
async function runPass(
  ctx: BenchContext,
  o: AuthOptions,
  level: string,
  first: boolean,
  shared: Shared,
): Promise<PassOutcome> {
  ctx.progress(`[${level}] starting ${o.replicas} auth replicas, private database, Redis prefix and nginx`);
  const bench = await startBenchStack({
    replicas: o.replicas,
    logLevel: level,
    env: profileEnv(shared.profileDir),
    progress: ctx.progress,
  });
  const release = ctx.defer(`auth stack (${level})`, () => bench.stack.cleanup());
  try {
    const machine = first
      ? await describeMachine(bench.stack.db.url, bench.stack.redisUrl, shared.loadAtStart)
      : undefined;
    const admin = bench.stack.client();
    await admin.setup(USER, PASSWORD);
    const { access_token: token } = await admin.login(USER, PASSWORD);
    const tokens = await benchTokens({
      admin,
      client: () => bench.stack.client(),
      username: USER,
      password: PASSWORD,
      token,
      count: o.threads,
    });
    if (first)
      ctx.progress(
        `[${level}] starting ${o.replicas} peer app processes (express + jose) behind their own nginx`,
      );
    const peer = first ? await startPeerGateway(bench, token, o) : undefined;
    const stopPeer = peer ? ctx.defer('peer app gateway', () => peer.stop()) : undefined;
    await preflight({ ours: bench, baseline: shared.baseline, peer, tokens, replicas: o.replicas });
    const pass = await measureThroughput({
      logLevel: level,
      ours: { url: bench.stack.gatewayUrl.replace('//localhost:', '//127.0.0.1:'), pids: bench.pids },
      baseline: { url: shared.baseline.url, pids: shared.baseline.pids },
      peer: peer ? { url: peer.url, pids: peer.pids } : undefined,
      tokens,
      wrk: o,
      rounds: o.rounds,
      scriptPath: shared.scriptPath,
      logBytes: bench.logBytes,
      progress: ctx.progress,
    });
    await stopPeer?.();
    ctx.progress(
      `[${level}] ours ${pass.ours.requestsPerSecond.toFixed(0)} req/s, baseline ${pass.baseline.requestsPerSecond.toFixed(0)} req/s, ratio ${pass.ratio.toFixed(3)}, paired ratio ${pass.pairedRatio.toFixed(3)}` +
        (pass.peer
          ? `; peer ${pass.peer.summary.requestsPerSecond.toFixed(0)} req/s, ours ÷ peer ${pass.peer.ratio.toFixed(3)}, paired ${pass.peer.pairedRatio.toFixed(3)}`
          : ''),
    );
    const revoke =
      first && o.revokeReplicas.includes(o.replicas) ? await revokePoint(ctx, bench, o.revokes) : undefined;
    return { pass, revoke, machine };
  } finally {
    ctx.progress(`[${level}] stopping the stack, dropping its database and Redis keys`);
    await release();
  }
}

/** A point of the revoke curve on its own stack of `replicas` auth replicas. */
async function runCurvePoint(ctx: BenchContext, o: AuthOptions, replicas: number): Promise<RevokeResult> {
  const level = o.logLevels[0]!;
  ctx.progress(
    `[revoke ${replicas} replicas] starting ${replicas} auth replicas (LOG_LEVEL=${level}) and nginx`,
  );
  const bench = await startBenchStack({ replicas, logLevel: level, progress: ctx.progress });
  const release = ctx.defer(`auth stack (${replicas} replicas)`, () => bench.stack.cleanup());
  try {
    await bench.stack.client().setup(USER, PASSWORD);
    return await revokePoint(ctx, bench, o.curveRevokes);
  } finally {
    await release();
  }
}

/**
 * `npm run bench -- auth`: GET /api/v1/auth/me through nginx against a bare express baseline and
 * the peer app (express + jose), each behind an identical nginx, at each replica log level; then
 * revoke (logout) latency and acceptance after the 204 for each replica count of the curve. Writes
 * `.run/bench/auth-<timestamp>.{json,html}` and the docs/benchmarks.md section.
 */
export async function authScenario(ctx: BenchContext): Promise<number> {
  const o = parseAuthOptions(ctx.args);
  const { loadAtStart, build, startedAt, stamp, outDir, tmp, profileDir } = beginBenchRun(ctx, 'auth', {
    cpuProf: o.cpuProf,
  });

  ctx.progress(
    `starting ${o.replicas} bare express processes (on the ${o.baselineServer} server) behind their own nginx (baseline)`,
  );
  const baseline = await startBaselineGateway(o.replicas, { BASELINE_SERVER: o.baselineServer });
  const stopBaseline = ctx.defer('baseline gateway', () => baseline.stop());
  const shared = { baseline, scriptPath: await writeWrkScript(tmp), loadAtStart };

  const outcomes: PassOutcome[] = [];
  for (const [i, level] of o.logLevels.entries()) {
    outcomes.push(
      await runPass(ctx, o, level, i === 0, { ...shared, profileDir: i === 0 ? profileDir : undefined }),
    );
  }
  await stopBaseline();
  const curve: RevokeResult[] = [];
  for (const replicas of o.revokeReplicas) {
    const measured = replicas === o.replicas ? outcomes[0]!.revoke : undefined;
    curve.push(measured ?? (await runCurvePoint(ctx, o, replicas)));
  }
  const passes = outcomes.map((x) => x.pass);
  const { goals, references } = authGoals(o, passes, curve);
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
      curveRevokes: o.curveRevokes,
      revokeReplicas: o.revokeReplicas,
      baselineServer: o.baselineServer,
      cpuProfile: o.cpuProf,
    },
    passes,
    revoke: curve.find((r) => r.replicas === o.replicas) ?? curve[0]!,
    revokeCurve: curve,
    goals,
    references,
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
