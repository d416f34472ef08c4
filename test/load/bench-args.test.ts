import { parseAuthOptions } from './auth.options';
import { baselineServer } from './bare-server';
import { DOCS_FILE, parseBenchArgs, QUICK_ARGS, QUICK_DOCS_FILE, worstCode } from './bench-args';
import { UsageError } from './bench-context';
import { parseRealtimeOptions } from './realtime.options';
import { parseRedisOptions } from './redis.options';
import { parseSettingsOptions } from './settings.options';

describe('parseBenchArgs', () => {
  it('with no arguments runs every scenario with its defaults into docs/benchmarks.md', () => {
    expect(parseBenchArgs([])).toEqual({
      mode: 'run',
      all: true,
      quick: false,
      docsFile: DOCS_FILE,
      runs: [
        { scenario: 'auth', args: [] },
        { scenario: 'settings', args: [] },
        { scenario: 'realtime', args: [] },
        { scenario: 'redis', args: [] },
      ],
    });
  });

  it('--quick gives every scenario its small sizes and writes to the copy, never docs/benchmarks.md', () => {
    const plan = parseBenchArgs(['--quick', '--check-goals']);
    expect(plan).toMatchObject({ mode: 'run', all: true, quick: true, docsFile: QUICK_DOCS_FILE });
    if (plan.mode !== 'run') throw new Error('not a run');
    expect(plan.runs.find((r) => r.scenario === 'auth')?.args).toEqual([...QUICK_ARGS.auth, '--check-goals']);
    expect(plan.runs.map((r) => r.scenario)).toEqual(['auth', 'settings', 'realtime', 'redis']);
  });

  it('`all` is the same as no scenario, and passes --skip-docs to each', () => {
    const plan = parseBenchArgs(['all', '--skip-docs']);
    if (plan.mode !== 'run') throw new Error('not a run');
    expect(plan.all).toBe(true);
    expect(plan.runs.every((r) => r.args.join(' ') === '--skip-docs')).toBe(true);
  });

  it('a scenario name runs that scenario alone with the rest as its own options', () => {
    expect(parseBenchArgs(['auth', '--rounds', '2'])).toEqual({
      mode: 'run',
      all: false,
      quick: false,
      docsFile: DOCS_FILE,
      runs: [{ scenario: 'auth', args: ['--rounds', '2'] }],
    });
  });

  it('a scenario with --quick gets the small sizes first, so its own options win', () => {
    const plan = parseBenchArgs(['redis', '--quick', '--requests', '5000']);
    if (plan.mode !== 'run') throw new Error('not a run');
    expect(plan.docsFile).toBe(QUICK_DOCS_FILE);
    expect(plan.runs[0]!.args).toEqual([...QUICK_ARGS.redis, '--requests', '5000']);
    expect(parseRedisOptions(plan.runs[0]!.args).requests).toBe(5000);
  });

  it('answers help, and summary without options', () => {
    expect(parseBenchArgs(['--help'])).toEqual({ mode: 'help' });
    expect(parseBenchArgs(['settings', '--help'])).toEqual({ mode: 'help' });
    expect(parseBenchArgs(['summary'])).toEqual({ mode: 'summary' });
    expect(() => parseBenchArgs(['summary', '--quick'])).toThrow(UsageError);
  });

  it('refuses an unknown scenario, and a scenario option without its scenario', () => {
    expect(() => parseBenchArgs(['authx'])).toThrow(/unknown scenario "authx"/);
    expect(() => parseBenchArgs(['--rounds', '2'])).toThrow(/after its name/);
  });

  it("every scenario's quick arguments are valid options of that scenario", () => {
    expect(parseAuthOptions([...QUICK_ARGS.auth])).toMatchObject({
      logLevels: ['info'],
      revokeReplicas: [2, 8],
      rounds: 1,
    });
    expect(parseSettingsOptions([...QUICK_ARGS.settings]).keys).toBe(200);
    expect(parseRealtimeOptions([...QUICK_ARGS.realtime]).sockets).toBe(200);
    expect(parseRedisOptions([...QUICK_ARGS.redis]).sequentialRequests).toBe(500);
  });
});

describe('parseAuthOptions', () => {
  it('judges the ratio at info first by default and measures the revoke curve at 2, 4, 6 and 8 replicas', () => {
    expect(parseAuthOptions([])).toMatchObject({
      logLevels: ['info', 'warn'],
      revokes: 200,
      revokeReplicas: [2, 4, 6, 8],
      curveRevokes: 100,
    });
  });

  it('sorts and deduplicates the curve and refuses a replica count out of range', () => {
    expect(parseAuthOptions(['--revoke-replicas', '8,2,2']).revokeReplicas).toEqual([2, 8]);
    expect(() => parseAuthOptions(['--revoke-replicas', '2,9'])).toThrow(UsageError);
  });

  it("runs the baselines on Express's own server unless told to use Concord's", () => {
    expect(parseAuthOptions([]).baselineServer).toBe('express');
    expect(parseAuthOptions(['--baseline-server', 'concord']).baselineServer).toBe('concord');
    expect(() => parseAuthOptions(['--baseline-server', 'fastify'])).toThrow(UsageError);
    expect(baselineServer(undefined)).toBe('express');
    expect(baselineServer('concord')).toBe('concord');
    expect(() => baselineServer('Concord')).toThrow(/BASELINE_SERVER/);
  });
});

describe('worstCode', () => {
  it('a failure outranks a missed goal, which outranks success', () => {
    expect(worstCode([0, 2, 1])).toBe(1);
    expect(worstCode([0, 2])).toBe(2);
    expect(worstCode([0, 0])).toBe(0);
  });
});
