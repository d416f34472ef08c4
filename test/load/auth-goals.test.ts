import { authGoals } from './auth-goals';
import type { RevokeResult, TargetSummary, ThroughputPass } from './auth.results';

function side(rps: number, serviceUs: number): TargetSummary {
  return {
    requestsPerSecond: rps,
    latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4 },
    percentilesMs: [],
    cpuMsPer1kRequests: { service: serviceUs },
  };
}

function pass(ours: number, bare: number, peer?: number): ThroughputPass {
  return {
    logLevel: 'info',
    runs: [],
    ours: side(ours, 250),
    baseline: side(bare, 190),
    peer: peer
      ? { summary: side(peer, 230), ratio: ours / peer, roundRatios: [ours / peer], pairedRatio: ours / peer }
      : undefined,
    ratio: ours / bare,
    roundRatios: [ours / bare],
    pairedRatio: ours / bare,
    logBytesPerRequest: 0,
    foreignCpuShare: 0.01,
  };
}

function point(replicas: number, p99: number, violations = 0): RevokeResult {
  return {
    replicas,
    via: 'gateway',
    samplesMs: [],
    summary: { count: 10, min: 1, mean: 2, p50: 2, p90: 3, p99, max: p99 },
    byReplica: {},
    directStatuses: { 401: 10 * replicas - violations, 200: violations },
    violations,
  };
}

const byName = (goals: ReturnType<typeof authGoals>['goals'], start: string) => {
  const g = goals.find((x) => x.name.startsWith(start));
  if (!g) throw new Error(`no goal ${start}`);
  return g;
};

describe('authGoals', () => {
  it('judges ours against bare express and the peer app at the first level, with service CPU beside', () => {
    const { goals } = authGoals({ replicas: 2 }, [pass(4600, 5000, 4000)], [point(2, 8), point(8, 14)]);
    const bare = byName(goals, '/me req/s ours ÷ bare express at LOG_LEVEL=info');
    expect(bare).toMatchObject({ value: 0.92, met: true });
    expect(bare.detail).toContain('ours 250 µs, bare 190 µs, peer 230 µs');
    expect(byName(goals, '/me req/s ours ÷ peer app')).toMatchObject({
      value: 1.15,
      met: true,
      target: '> 1',
    });
  });

  it('behind the peer app, the peer goal is missed', () => {
    const { goals } = authGoals({ replicas: 2 }, [pass(3900, 5000, 4000)], [point(2, 8)]);
    expect(byName(goals, '/me req/s ours ÷ peer app').met).toBe(false);
  });

  it('judges revoke p99 at 2 and at 8 replicas, lists the points between as references', () => {
    const curve = [point(2, 10.5), point(4, 11), point(6, 12), point(8, 15)];
    const { goals, references } = authGoals({ replicas: 2 }, [pass(1, 1, 1)], curve);
    expect(byName(goals, 'revoke (logout) p99 with 2 ')).toMatchObject({ value: 10.5, met: false });
    expect(byName(goals, 'revoke (logout) p99 with 8 ')).toMatchObject({ value: 15, met: true });
    expect(references.map((r) => r.name)).toEqual([
      'revoke (logout) p99 with 4 verifying replicas (the curve)',
      'revoke (logout) p99 with 6 verifying replicas (the curve)',
    ]);
  });

  it('a revoked token accepted anywhere misses the goal; a point not measured is inconclusive', () => {
    const { goals } = authGoals({ replicas: 2 }, [pass(1, 1, 1)], [point(2, 5, 1), point(4, 5)]);
    expect(byName(goals, 'revoked token accepted')).toMatchObject({ value: 1, met: false });
    expect(byName(goals, 'revoked token accepted').detail).toBe('60 direct requests with revoked tokens');
    expect(byName(goals, 'revoke (logout) p99 with 8 ')).toMatchObject({ met: false });
    expect(byName(goals, 'revoke (logout) p99 with 8 ').inconclusive).toContain('not measured');
  });
});
