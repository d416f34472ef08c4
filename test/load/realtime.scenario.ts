import { ConcordClient } from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import type { BenchContext } from './bench-context';
import { startBenchStack, type BenchStack } from './bench-stack';
import { beginBenchRun, publishBenchResult } from './bench-publish';
import { commGroup, cpuSince, pidGroup, snapshotCpu } from './cpu-usage';
import { describeMachine } from './machine';
import { startClientWorkers, type ClientWorkers } from './realtime-clients';
import { renderRealtimeSection } from './realtime-doc';
import { measureBroadcasts, measureFanout, measurePerUser, type Publish } from './realtime-measure';
import { startRealtimeNodes, stopRealtimeNodes } from './realtime-nodes';
import { measurePresence, measureRevokeCut } from './realtime-probes';
import { renderRealtimeHtml } from './realtime-report-html';
import { parseRealtimeOptions, type RealtimeOptions } from './realtime.options';
import {
  phaseName,
  planSockets,
  realtimeGoals,
  type PhaseResult,
  type PhaseSpec,
  type RealtimeBenchResult,
} from './realtime.results';
import { createBenchUsers, type BenchUser } from './realtime-users';

/** DESIGN.md section 6's default `REALTIME_MAX_SOCKETS_PER_USER` (the nodes run with it). */
const SOCKETS_PER_USER = 20;
const CHANNEL = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What every phase shares. */
interface Shared {
  o: RealtimeOptions;
  bench: BenchStack;
  workers: ClientWorkers;
  adminToken: string;
  users: BenchUser[];
  probes: { observer: BenchUser; presence: BenchUser[]; revoke: BenchUser[] };
}

/** realtime-service's environment: the stack's database, Redis prefix and JWKS; defaults otherwise. */
function oursEnv(bench: BenchStack, adapter: PhaseSpec['adapter']): Record<string, string> {
  const s = bench.stack;
  return {
    HOST: '127.0.0.1',
    DATABASE_URL: s.db.url,
    REDIS_URL: s.redisUrl,
    REDIS_PREFIX: s.prefix,
    JWKS_URL: `${s.replicas[0]!.internalUrl}/.well-known/jwks.json`,
    TRUSTED_PROXIES: '127.0.0.2/32',
    REVOCATION_LEASE_MS: s.env.REVOCATION_LEASE_MS ?? '10000',
    LOG_LEVEL: 'warn',
    // The per-client API limit would throttle the one publisher; operators raise it for load tests.
    RATE_LIMIT_MAX_REQUESTS: '10000',
    RATE_LIMIT_TIME_UNIT: 'second',
    SOCKETIO_ADAPTER: adapter,
  };
}

function publisher(side: PhaseSpec['side'], url: string, token: string): { publish: Publish; close(): void } {
  const client = new ConcordClient({ baseUrl: url });
  const publish: Publish = async (to, data) => {
    const route =
      side === 'bare'
        ? `/channels/${'channel' in to ? to.channel : 'none'}/messages`
        : 'channel' in to
          ? `/api/v1/realtime/channels/${to.channel}/messages`
          : `/api/v1/realtime/users/${to.user}/messages`;
    const res = await client.request('POST', route, {
      token: side === 'ours' ? token : undefined,
      body: { event: 'bench', data },
    });
    if (res.status !== 202) throw new Error(`publish to ${route} answered ${res.status}: ${res.text}`);
  };
  return { publish, close: () => client.close() };
}

async function runPhase(ctx: BenchContext, spec: PhaseSpec, sh: Shared): Promise<PhaseResult> {
  const { o, workers } = sh;
  const name = phaseName(spec);
  const tag = `[${name}]`;
  ctx.progress(`${tag} starting ${spec.nodes} server process${spec.nodes > 1 ? 'es' : ''}`);
  const nodes = await startRealtimeNodes({
    side: spec.side,
    count: spec.nodes,
    socketsEach: Math.ceil(o.sockets / spec.nodes),
    env:
      spec.side === 'ours'
        ? oursEnv(sh.bench, spec.adapter)
        : { REDIS_URL: sh.bench.stack.redisUrl, REDIS_PREFIX: `${sh.bench.stack.prefix}bare:` },
  });
  const stopNodes = ctx.defer(name, () => stopRealtimeNodes(nodes));
  const pub = publisher(spec.side, nodes[0]!.url, sh.adminToken);
  try {
    const before = snapshotCpu();
    await sleep(1_000);
    const idleBytes = nodes.map((n) => n.rss());
    const plan = planSockets(o.sockets, SOCKETS_PER_USER, spec.nodes);
    const targets = plan.map((p) => ({
      url: nodes[p.node]!.url,
      token: spec.side === 'ours' ? sh.users[p.user]!.token : undefined,
    }));
    ctx.progress(
      `${tag} connecting ${o.sockets} sockets (${o.workers} client processes, ${o.concurrency} in flight each)`,
    );
    const serverCpu = () => [pidGroup('server', () => nodes.map((n) => n.pid))];
    const beforeConnect = snapshotCpu();
    const c = await workers.connect(targets, {
      concurrency: o.concurrency,
      channel: CHANNEL,
      timeoutMs: 60_000,
    });
    // CPU per connect holds up on a busy machine far better than connects per second do.
    const connectCpuMs = cpuSince(beforeConnect, serverCpu()).groupsMs.server ?? Number.NaN;
    const serverCpuUsPerConnect = (1000 * connectCpuMs) / Math.max(1, c.connected);
    const perSecond = (c.connected / c.connectMs) * 1000;
    ctx.progress(
      `${tag} ${c.connected} connected in ${(c.connectMs / 1000).toFixed(1)} s (${perSecond.toFixed(0)}/s, server CPU ${serverCpuUsPerConnect.toFixed(0)} µs each), ${c.failed} refused, ${c.subscribed} subscribed to ${CHANNEL}${c.failures.length ? `; first failures: ${c.failures.join(' | ')}` : ''}`,
    );
    if (c.subscribed < o.sockets * 0.99)
      throw new Error(
        `${tag} only ${c.subscribed}/${o.sockets} sockets connected and subscribed: ${[...c.failures, ...c.subscribeFailures].join(' | ')}`,
      );
    // Idle before reading RSS: V8's memory reducer collects the handshakes' garbage only once the
    // allocation rate has dropped for a few seconds; an early reading counts garbage as sockets.
    await sleep(3_000);
    const earlyBytes = nodes.map((n) => n.rss());
    await sleep(Math.max(0, o.settleMs - 3_000));
    const loadedBytes = nodes.map((n) => n.rss());
    const perSocketBytes =
      (loadedBytes.reduce((a, b) => a + b, 0) - idleBytes.reduce((a, b) => a + b, 0)) / c.connected;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    ctx.progress(
      `${tag} RSS ${(perSocketBytes / 1024).toFixed(1)} KiB per idle socket after ${o.settleMs / 1000} s idle (${((sum(earlyBytes) - sum(idleBytes)) / c.connected / 1024).toFixed(1)} KiB after 3 s)`,
    );

    const beforeBroadcasts = snapshotCpu();
    const measured = await measureBroadcasts({
      workers,
      publish: pub.publish,
      channel: CHANNEL,
      sockets: c.subscribed,
      count: o.broadcasts,
      gapMs: 300,
      timeoutMs: 20_000,
    });
    // Like CPU per connect: what a delivery costs the servers, which other work distorts far less
    // than the latency (the gaps between broadcasts are idle on both sides).
    const broadcastCpuMs = cpuSince(beforeBroadcasts, serverCpu()).groupsMs.server ?? Number.NaN;
    const broadcast = {
      ...measured,
      serverCpuUsPerDelivery: (1000 * broadcastCpuMs) / Math.max(1, measured.delivered),
    };
    const b = broadcast.summary;
    ctx.progress(
      `${tag} broadcast to ${c.subscribed}: p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms (${broadcast.delivered}/${broadcast.expected} delivered, server CPU ${broadcast.serverCpuUsPerDelivery.toFixed(1)} µs each)`,
    );
    const fanout = await measureFanout({
      workers,
      publish: pub.publish,
      channel: CHANNEL,
      sockets: c.subscribed,
      count: o.fanoutBurst,
      timeoutMs: 60_000,
    });
    ctx.progress(
      `${tag} fan-out burst of ${o.fanoutBurst}: ${fanout.deliveriesPerSecond.toFixed(0)} deliveries/s (${fanout.delivered}/${fanout.expected})`,
    );

    const result: PhaseResult = {
      ...spec,
      name,
      sockets: o.sockets,
      connect: {
        connected: c.connected,
        failed: c.failed,
        failures: c.failures,
        ms: c.connectMs,
        perSecond,
        serverCpuUsPerConnect,
      },
      rss: { idleBytes, earlyBytes, loadedBytes, perSocketBytes },
      broadcast,
      fanout,
      cpu: { groupsMs: {}, wallMs: 0, foreignShare: 0 },
    };
    if (spec.side === 'ours') {
      const socketsOf = new Map<number, number>();
      for (const p of plan) socketsOf.set(p.user, (socketsOf.get(p.user) ?? 0) + 1);
      result.perUser = await measurePerUser({
        workers,
        publish: pub.publish,
        users: [...socketsOf].map(([u, n]) => ({ id: sh.users[u]!.id, sockets: n })),
        count: o.userMessages,
        intervalMs: o.userIntervalMs,
        timeoutMs: 10_000,
      });
      const u = result.perUser.summary;
      ctx.progress(
        `${tag} per-user messages (1 every ${o.userIntervalMs} ms): p50 ${u.p50.toFixed(2)} ms, p99 ${u.p99.toFixed(2)} ms (${result.perUser.delivered}/${result.perUser.expected})`,
      );
    }
    if (spec.side === 'ours' && spec.nodes >= 2) {
      result.presence = await measurePresence({
        observerUrl: nodes[1]!.url,
        observer: sh.probes.observer,
        probeUrl: nodes[0]!.url,
        users: sh.probes.presence,
        cycles: o.presenceCycles,
        timeoutMs: 10_000,
      });
      const pj = result.presence.join.summary;
      const pl = result.presence.leave.summary;
      ctx.progress(
        `${tag} presence across nodes: join p50 ${pj.p50.toFixed(2)} / p99 ${pj.p99.toFixed(2)} ms, leave p50 ${pl.p50.toFixed(2)} / p99 ${pl.p99.toFixed(2)} ms`,
      );
      result.revoke = await measureRevokeCut({
        auth: sh.bench.stack.client({ replica: 0 }),
        password: PASSWORD,
        urls: nodes.map((n) => n.url),
        users: sh.probes.revoke,
        cycles: o.revokes,
        timeoutMs: 10_000,
      });
      const r = result.revoke.toDisconnect.summary;
      ctx.progress(
        `${tag} revocation → both sockets cut: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (session:revoked seen by ${result.revoke.revokedEventsSeen}/${2 * o.revokes})`,
      );
    }
    const cpu = cpuSince(before, [
      pidGroup('server', () => nodes.map((n) => n.pid)),
      pidGroup('clients', () => workers.pids()),
      pidGroup('auth', () => sh.bench.pids()),
      commGroup('postgres', 'postgres'),
      commGroup('redis', 'redis-server'),
    ]);
    const groupsMs = { ...cpu.groupsMs, bench: cpu.benchMs };
    const known = Object.values(groupsMs).reduce((a, v) => a + v, 0);
    const other = Math.max(0, cpu.machineBusyMs - known);
    result.cpu = {
      groupsMs: { ...groupsMs, other },
      wallMs: cpu.wallMs,
      // Of the machine's capacity, not of its busy time: the phases wait a lot, and a share of busy
      // time would call any idle wait "foreign".
      foreignShare: other / Math.max(1, cpu.machineTotalMs),
    };
    ctx.progress(
      `${tag} closing the sockets; CPU outside the benchmark: ${(100 * result.cpu.foreignShare).toFixed(0)}%`,
    );
    await workers.closeSockets();
    return result;
  } finally {
    pub.close();
    await stopNodes();
  }
}

/** The phases of a run: each side on one node, then on two (ours also on the sharded adapter). */
export function realtimePhases(sharded: boolean): PhaseSpec[] {
  const phases: PhaseSpec[] = [
    { side: 'bare', nodes: 1, adapter: 'classic' },
    { side: 'ours', nodes: 1, adapter: 'classic' },
    { side: 'bare', nodes: 2, adapter: 'classic' },
    { side: 'ours', nodes: 2, adapter: 'classic' },
  ];
  if (sharded) phases.push({ side: 'ours', nodes: 2, adapter: 'sharded' });
  return phases;
}

/**
 * `npm run bench -- realtime`: realtime-service against a bare Socket.IO + redis-adapter server,
 * N sockets on one node and over two, connected straight to the nodes with tokens minted by a
 * private auth-service. Writes `.run/bench/realtime-<timestamp>.{json,html}` and the
 * docs/benchmarks.md section.
 */
export async function realtimeScenario(ctx: BenchContext): Promise<number> {
  const o = parseRealtimeOptions(ctx.args);
  const { loadAtStart, build, startedAt, stamp, outDir } = beginBenchRun(ctx, 'realtime');

  ctx.progress('starting auth-service (1 replica), private database and Redis prefix');
  const bench = await startBenchStack({
    replicas: 1,
    logLevel: 'warn',
    progress: ctx.progress,
    gateway: false,
    // Tokens minted at the start must outlive the run.
    env: { JWT_EXPIRY_MINUTES: '30', RATE_LIMIT_MAX_REQUESTS: '10000', RATE_LIMIT_TIME_UNIT: 'second' },
  });
  ctx.defer('auth stack', () => bench.stack.cleanup());
  const machine = await describeMachine(bench.stack.db.url, bench.stack.redisUrl, loadAtStart);
  const admin = bench.stack.client({ replica: 0 });
  await admin.setup('bench.ceo', PASSWORD);
  const { access_token: adminToken } = await admin.login('bench.ceo', PASSWORD);
  const userCount = Math.ceil(o.sockets / SOCKETS_PER_USER);
  ctx.progress(
    `[users] ${userCount} members (${SOCKETS_PER_USER} sockets each) and 21 probe users, each logged in once`,
  );
  const create = (prefix: string, count: number) =>
    createBenchUsers({
      client: bench.stack.client({ replica: 0 }),
      databaseUrl: bench.stack.db.url,
      adminToken,
      prefix,
      count,
      password: PASSWORD,
      concurrency: 4,
      progress: ctx.progress,
    });
  const users = await create('bench-rt', userCount);
  const probeUsers = await create('bench-probe', 21);
  const workers = startClientWorkers(o.workers, Math.ceil(o.sockets / o.workers));
  ctx.defer('client processes', () => workers.stop());
  const shared: Shared = {
    o,
    bench,
    workers,
    adminToken,
    users,
    probes: { observer: probeUsers[0]!, presence: probeUsers.slice(1, 11), revoke: probeUsers.slice(11) },
  };

  const phases: PhaseResult[] = [];
  for (const spec of realtimePhases(o.sharded)) phases.push(await runPhase(ctx, spec, shared));
  const goals = realtimeGoals(phases);
  const result: RealtimeBenchResult = {
    scenario: 'realtime',
    command: ctx.command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    build,
    settings: {
      sockets: o.sockets,
      workers: o.workers,
      concurrency: o.concurrency,
      users: userCount,
      socketsPerUser: SOCKETS_PER_USER,
      broadcasts: o.broadcasts,
      fanoutBurst: o.fanoutBurst,
      userMessages: o.userMessages,
      userIntervalMs: o.userIntervalMs,
      presenceCycles: o.presenceCycles,
      revokes: o.revokes,
      settleMs: o.settleMs,
    },
    phases,
    goals,
  };
  // Latencies to the microsecond: the sub-microsecond digits are clock noise and would double the file.
  const micro = (_key: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
  return publishBenchResult(ctx, {
    name: 'realtime',
    stamp,
    outDir,
    result,
    goals,
    html: renderRealtimeHtml,
    section: renderRealtimeSection,
    keepDocs: o.skipDocs ? '--skip-docs' : undefined,
    replacer: micro,
    checkGoals: o.checkGoals,
  });
}
