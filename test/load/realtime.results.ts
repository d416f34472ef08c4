import { FOREIGN_CPU_WARNING } from './auth-throughput';
import type { Goal } from './auth.results';
import type { BuildInfo } from './build-info';
import type { MachineInfo } from './machine';
import type { DeliveryResult, FanoutResult } from './realtime-measure';
import type { RealtimeSide } from './realtime-nodes';
import type { PresenceResult, RevokeCutResult } from './realtime-probes';

/** The shape of `.run/bench/realtime-<timestamp>.json`, also fed to the HTML and Markdown writers. */

/** One server set under load: N sockets spread over `nodes` processes. */
export interface PhaseSpec {
  side: RealtimeSide;
  nodes: number;
  adapter: 'classic' | 'sharded';
}

/** What one phase measured. */
export interface PhaseResult extends PhaseSpec {
  name: string;
  sockets: number;
  connect: {
    connected: number;
    failed: number;
    failures: string[];
    ms: number;
    perSecond: number;
    /** CPU the server processes spent in the connect round (subscribe included), per socket. */
    serverCpuUsPerConnect: number;
  };
  /**
   * RSS of each node before any socket, 3 s after the last socket subscribed, and after the settle
   * time (the figure per socket is taken from the last).
   */
  rss: { idleBytes: number[]; earlyBytes: number[]; loadedBytes: number[]; perSocketBytes: number };
  /** With the CPU the server processes spent over the broadcasts, per delivery. */
  broadcast: DeliveryResult & { serverCpuUsPerDelivery: number };
  fanout: FanoutResult;
  perUser?: DeliveryResult;
  presence?: PresenceResult;
  revoke?: RevokeCutResult;
  /**
   * CPU ms per component over the whole phase, and the share of the machine's CPU capacity that
   * no benchmark process accounts for (other work on a shared machine).
   */
  cpu: { groupsMs: Record<string, number>; wallMs: number; foreignShare: number };
}

/** Settings the run used. */
export interface RealtimeSettings {
  sockets: number;
  workers: number;
  concurrency: number;
  users: number;
  socketsPerUser: number;
  broadcasts: number;
  fanoutBurst: number;
  userMessages: number;
  userIntervalMs: number;
  presenceCycles: number;
  revokes: number;
  settleMs: number;
}

/** Everything one `npm run bench -- realtime` measured. */
export interface RealtimeBenchResult {
  scenario: 'realtime';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  build: BuildInfo;
  settings: RealtimeSettings;
  phases: PhaseResult[];
  goals: Goal[];
}

/** The phases of one run, in order; the goals below look them up by these names. */
export function phaseName(p: PhaseSpec): string {
  return `${p.side} ${p.nodes} node${p.nodes > 1 ? 's' : ''}${p.side === 'ours' ? ` ${p.adapter}` : ''}`;
}

/** The issue's goals (issue 8 "Benchmark", issue 10 item 4). */
export const REALTIME_GOALS = {
  connectRatio: 0.8,
  rssRatio: 1.25,
  broadcastRatio: 1.2,
  perUserP99Ms: 5,
  fanoutRatio: 0.7,
  presenceP99Ms: 50,
  revokeP99Ms: 25,
} as const;

/** What a goal over phases `ps` is measured against, for the summary. */
function baselineOf(ps: readonly (PhaseResult | undefined)[]): string {
  const bare = ps.find((p) => p?.side === 'bare');
  if (bare) return `bare Socket.IO 4.8 + redis-adapter (${bare.name}), same run`;
  return ps.length > 1 ? `ours on ${ps[0]?.nodes ?? 1} node, same run` : 'absolute';
}

/**
 * Judges the goals from the phases (pure). A goal whose phases are missing is reported with a NaN
 * value and not met; one measured while other work took more than {@link FOREIGN_CPU_WARNING} of
 * the CPU is marked inconclusive, and so is one where deliveries were lost.
 */
export function realtimeGoals(phases: readonly PhaseResult[]): Goal[] {
  const find = (side: RealtimeSide, nodes: number, adapter: PhaseSpec['adapter'] = 'classic') =>
    phases.find((p) => p.side === side && p.nodes === nodes && (side === 'bare' || p.adapter === adapter));
  const doubt = (...ps: (PhaseResult | undefined)[]): string | undefined => {
    const reasons: string[] = [];
    for (const p of ps) {
      if (!p) continue;
      if (p.cpu.foreignShare > FOREIGN_CPU_WARNING)
        reasons.push(
          `${(100 * p.cpu.foreignShare).toFixed(0)}% of the CPU went to other work during ${p.name}`,
        );
      if (p.broadcast.delivered < p.broadcast.expected || p.connect.failed > 0)
        reasons.push(`${p.name} lost sockets or deliveries`);
    }
    return reasons.length > 0 ? reasons.join('; ') : undefined;
  };
  const goal = (
    name: string,
    target: string,
    value: number,
    ok: (v: number) => boolean,
    ...ps: (PhaseResult | undefined)[]
  ): Goal => {
    const missing = ps.some((p) => !p) || !Number.isFinite(value);
    return {
      name,
      target,
      value,
      met: !missing && ok(value),
      inconclusive: missing ? 'not measured' : doubt(...ps),
      baseline: baselineOf(ps),
    };
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? Number.NaN : a / b;
  const g = REALTIME_GOALS;
  const rows: Goal[] = [];
  for (const nodes of [1, 2]) {
    const ours = find('ours', nodes);
    const bare = find('bare', nodes);
    const label = `${nodes} node${nodes > 1 ? 's' : ''}`;
    rows.push(
      goal(
        `connect rate ours ÷ bare, ${label}`,
        `≥ ${g.connectRatio}`,
        ratio(ours?.connect.perSecond, bare?.connect.perSecond),
        (v) => v >= g.connectRatio,
        ours,
        bare,
      ),
    );
    if (nodes === 1)
      rows.push(
        goal(
          `RSS per idle socket ours ÷ bare, ${label}`,
          `≤ ${g.rssRatio}`,
          ratio(ours?.rss.perSocketBytes, bare?.rss.perSocketBytes),
          (v) => v <= g.rssRatio,
          ours,
          bare,
        ),
      );
    for (const pct of ['p50', 'p99'] as const)
      rows.push(
        goal(
          `broadcast ${pct} ours ÷ bare, ${label}`,
          `≤ ${g.broadcastRatio}`,
          ratio(ours?.broadcast.summary[pct], bare?.broadcast.summary[pct]),
          (v) => v <= g.broadcastRatio,
          ours,
          bare,
        ),
      );
  }
  const one = find('ours', 1);
  const two = find('ours', 2);
  rows.push(
    goal(
      'per-user message p99 at light load, ours 2 nodes',
      `≤ ${g.perUserP99Ms} ms`,
      two?.perUser?.summary.p99 ?? Number.NaN,
      (v) => v <= g.perUserP99Ms,
      two,
    ),
    goal(
      'fan-out deliveries/s ours 2 nodes ÷ 1 node',
      `≥ ${g.fanoutRatio}`,
      ratio(two?.fanout.deliveriesPerSecond, one?.fanout.deliveriesPerSecond),
      (v) => v >= g.fanoutRatio,
      one,
      two,
    ),
    goal(
      'presence convergence p99 (worse of join, leave), 2 nodes',
      `≤ ${g.presenceP99Ms} ms`,
      two?.presence ? Math.max(two.presence.join.summary.p99, two.presence.leave.summary.p99) : Number.NaN,
      (v) => v <= g.presenceP99Ms,
      two,
    ),
    goal(
      'revocation → disconnect on both nodes p99',
      `≤ ${g.revokeP99Ms} ms`,
      two?.revoke?.toDisconnect.summary.p99 ?? Number.NaN,
      (v) => v <= g.revokeP99Ms,
      two,
    ),
  );
  return rows;
}

/**
 * Which user and node each of `sockets` sockets uses (pure): `perUser` consecutive sockets per user
 * (the cap of DESIGN.md section 6 is cluster-wide), alternating over the nodes so each user's
 * sockets sit on every node and per-user messages cross nodes.
 */
export function planSockets(
  sockets: number,
  perUser: number,
  nodes: number,
): { user: number; node: number }[] {
  return Array.from({ length: sockets }, (_, i) => ({ user: Math.floor(i / perUser), node: i % nodes }));
}
