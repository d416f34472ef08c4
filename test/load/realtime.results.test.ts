import type { DeliveryResult } from './realtime-measure';
import { planSockets, realtimeGoals, type PhaseResult, type PhaseSpec } from './realtime.results';
import { summarize } from './stats';

function delivery(samples: number[], expected = samples.length): DeliveryResult {
  return {
    messages: 1,
    expected,
    delivered: samples.length,
    summary: summarize(samples),
    samplesMs: samples,
  };
}

function phase(spec: PhaseSpec, o: Partial<PhaseResult> & { p99?: number; p50?: number } = {}): PhaseResult {
  const p50 = o.p50 ?? 100;
  const p99 = o.p99 ?? 200;
  // 100 samples: nearest-rank p50 is the 50th, p99 the 99th.
  const samples = [...Array<number>(50).fill(p50), ...Array<number>(49).fill(p99), p99];
  return {
    ...spec,
    name: `${spec.side} ${spec.nodes} ${spec.adapter}`,
    sockets: 100,
    connect: {
      connected: 100,
      failed: 0,
      failures: [],
      ms: 1000,
      perSecond: 1000,
      serverCpuUsPerConnect: 100,
    },
    rss: { idleBytes: [0], earlyBytes: [0], loadedBytes: [0], perSocketBytes: 16_384 },
    broadcast: { ...delivery(samples), serverCpuUsPerDelivery: 10 },
    fanout: { broadcasts: 1, delivered: 100, expected: 100, deliveriesPerSecond: 10_000, durationMs: 10 },
    cpu: { groupsMs: {}, wallMs: 1000, foreignShare: 0 },
    ...o,
  };
}

const bare1 = (o = {}) => phase({ side: 'bare', nodes: 1, adapter: 'classic' }, o);
const bare2 = (o = {}) => phase({ side: 'bare', nodes: 2, adapter: 'classic' }, o);
const ours1 = (o = {}) => phase({ side: 'ours', nodes: 1, adapter: 'classic' }, o);
const ours2 = (o = {}) =>
  phase(
    { side: 'ours', nodes: 2, adapter: 'classic' },
    {
      perUser: delivery([1, 2, 3]),
      presence: {
        cycles: 3,
        join: { samplesMs: [], summary: summarize([3, 4, 5]) },
        leave: { samplesMs: [], summary: summarize([2, 60, 2]) },
      },
      revoke: {
        cycles: 3,
        toDisconnect: { samplesMs: [], summary: summarize([5, 6, 7]) },
        logoutAnswer: { samplesMs: [], summary: summarize([4, 5, 6]) },
        revokedEventsSeen: 6,
      },
      ...o,
    },
  );
const byName = (goals: ReturnType<typeof realtimeGoals>, start: string) => {
  const g = goals.find((x) => x.name.startsWith(start));
  if (!g) throw new Error(`no goal ${start}`);
  return g;
};

describe('realtimeGoals', () => {
  it('when ours broadcasts at 1.3x the bare p99 on two nodes, that goal is missed and the 1-node one met', () => {
    const goals = realtimeGoals([bare1(), ours1({ p99: 230 }), bare2(), ours2({ p99: 260 })]);
    expect(byName(goals, 'broadcast p99 ours ÷ bare, 2 nodes')).toMatchObject({ value: 1.3, met: false });
    expect(byName(goals, 'broadcast p99 ours ÷ bare, 1 node')).toMatchObject({ value: 1.15, met: true });
  });

  it('connect rate and RSS are ratios against the bare server of the same node count', () => {
    const goals = realtimeGoals([
      bare1({
        connect: {
          connected: 100,
          failed: 0,
          failures: [],
          ms: 100,
          perSecond: 1000,
          serverCpuUsPerConnect: 100,
        },
      }),
      ours1({
        connect: {
          connected: 100,
          failed: 0,
          failures: [],
          ms: 100,
          perSecond: 700,
          serverCpuUsPerConnect: 100,
        },
        rss: { idleBytes: [], earlyBytes: [], loadedBytes: [], perSocketBytes: 20_480 },
      }),
    ]);
    expect(byName(goals, 'connect rate ours ÷ bare, 1 node')).toMatchObject({ value: 0.7, met: false });
    expect(byName(goals, 'RSS per idle socket')).toMatchObject({ value: 1.25, met: true });
  });

  it('presence is judged on the worse of join and leave', () => {
    const goals = realtimeGoals([bare1(), ours1(), bare2(), ours2()]);
    expect(byName(goals, 'presence convergence')).toMatchObject({ value: 60, met: false });
    expect(byName(goals, 'revocation')).toMatchObject({ value: 7, met: true });
    expect(byName(goals, 'per-user message p99')).toMatchObject({ value: 3, met: true });
  });

  it('fan-out is ours on two nodes over ours on one', () => {
    const fanout = (deliveriesPerSecond: number) => ({
      fanout: { broadcasts: 1, delivered: 1, expected: 1, deliveriesPerSecond, durationMs: 1 },
    });
    const goals = realtimeGoals([ours1(fanout(10_000)), ours2(fanout(6_500))]);
    expect(byName(goals, 'fan-out')).toMatchObject({ value: 0.65, met: false });
  });

  it('a goal whose phases did not run is not met and says so', () => {
    const goals = realtimeGoals([bare1(), ours1()]);
    expect(byName(goals, 'revocation')).toMatchObject({ met: false, inconclusive: 'not measured' });
    expect(byName(goals, 'broadcast p99 ours ÷ bare, 2 nodes').met).toBe(false);
  });

  it('a phase on a busy machine or with lost deliveries makes its verdicts inconclusive', () => {
    const busy = ours1({ cpu: { groupsMs: {}, wallMs: 1, foreignShare: 0.3 } });
    const lossy = bare1({ broadcast: { ...delivery([1, 2], 3), serverCpuUsPerDelivery: 10 } });
    const goals = realtimeGoals([lossy, busy]);
    const g = byName(goals, 'broadcast p50 ours ÷ bare, 1 node');
    expect(g.inconclusive).toContain('30% of the CPU');
    expect(g.inconclusive).toContain('lost sockets or deliveries');
  });
});

describe('planSockets', () => {
  it('never gives a user more than the cap and puts each user on every node', () => {
    const plan = planSockets(10_000, 20, 2);
    const perUser = new Map<number, Set<number>>();
    const counts = new Map<number, number>();
    for (const p of plan) {
      counts.set(p.user, (counts.get(p.user) ?? 0) + 1);
      perUser.set(p.user, (perUser.get(p.user) ?? new Set()).add(p.node));
    }
    expect(Math.max(...counts.values())).toBe(20);
    expect(counts.size).toBe(500);
    expect([...perUser.values()].every((nodes) => nodes.size === 2)).toBe(true);
    expect(plan.filter((p) => p.node === 0)).toHaveLength(5_000);
  });

  it('with a socket count that is not a multiple of the cap, the last user holds the rest', () => {
    const plan = planSockets(45, 20, 1);
    expect(plan.filter((p) => p.user === 2)).toHaveLength(5);
  });
});
