import { parseArgs } from 'node:util';
import { BASELINE_SERVERS, type BaselineServer } from './bare-server';
import { UsageError } from './bench-context';

/** Options of the auth scenario (`npm run bench -- auth [options]`). */
export interface AuthOptions {
  replicas: number;
  threads: number;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  /** The first level is the one the ratio goals are judged at (default info, production's level). */
  logLevels: string[];
  /** Logouts at `replicas` replicas (the throughput stack). */
  revokes: number;
  /** Replica counts of the revoke-latency curve (each other count on its own stack). */
  revokeReplicas: number[];
  /** Logouts per point of the curve other than `replicas`. */
  curveRevokes: number;
  /** The server the bare express and peer apps run on (bare-server.ts); `express` by default. */
  baselineServer: BaselineServer;
  /** Profile the replicas of the first pass (figures then read low; docs are left alone). */
  cpuProf: boolean;
  /** Do not touch docs/benchmarks.md. */
  skipDocs: boolean;
  /** Exit 2 when a goal is missed or inconclusive (default: report it and exit 0). */
  checkGoals: boolean;
}

/** pino's levels, valid for LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Usage text, printed on a bad option. */
export const AUTH_USAGE = `npm run bench -- auth [--duration 10] [--warmup 5] [--rounds 4] [--threads 2]
  [--connections 32] [--replicas 2] [--log-levels info,warn] [--revokes 200]
  [--revoke-replicas 2,4,6,8] [--curve-revokes 100] [--baseline-server express|concord]
  [--cpu-prof] [--skip-docs] [--check-goals]
    GET /me through nginx: ours vs bare express vs the peer app (express + jose, first level
    only), alternating rounds; then logout latency and acceptance after 204 with each replica
    count of --revoke-replicas (--revokes at --replicas, --curve-revokes at the others).
    --baseline-server concord runs bare express and the peer app on Concord's own server factory
    instead of Express's http.createServer(app), so the ratio leaves out that factory's gain.`;

/** `value` as an integer in min..max (`fallback` when absent); a {@link UsageError} otherwise. */
export function intInRange(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  // Upper bounds keep a typo from turning into an hour-long run.
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

/** `value` as an integer in 1..max (`fallback` when absent); a {@link UsageError} otherwise. */
export function positiveInt(name: string, value: string | undefined, fallback: number, max: number): number {
  return intInRange(name, value, fallback, 1, max);
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      connections: { type: 'string' },
      replicas: { type: 'string' },
      'log-levels': { type: 'string' },
      revokes: { type: 'string' },
      'revoke-replicas': { type: 'string' },
      'curve-revokes': { type: 'string' },
      'baseline-server': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'skip-docs': { type: 'boolean' },
      'check-goals': { type: 'boolean' },
    },
  });
}

/** Runs `parse`, turning node:util's parseArgs errors into a {@link UsageError}. */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Parses and bounds the scenario's arguments (a {@link UsageError} when they are wrong). */
export function parseAuthOptions(args: string[]): AuthOptions {
  const { values } = parseOrUsage(() => parseOptions(args));
  const logLevels = (values['log-levels'] ?? 'info,warn').split(',').filter(Boolean);
  if (logLevels.length === 0 || logLevels.some((l) => !LOG_LEVELS.includes(l))) {
    throw new UsageError(`--log-levels must list pino levels (${LOG_LEVELS.join(', ')})`);
  }
  const curve = (values['revoke-replicas'] ?? '2,4,6,8').split(',').filter(Boolean);
  const revokeReplicas = [...new Set(curve.map((v) => positiveInt('revoke-replicas', v, 2, 8)))].sort(
    (a, b) => a - b,
  );
  if (revokeReplicas.length === 0) throw new UsageError('--revoke-replicas must list replica counts');
  const baselineServer = values['baseline-server'] ?? 'express';
  if (!(BASELINE_SERVERS as readonly string[]).includes(baselineServer))
    throw new UsageError(`--baseline-server must be one of ${BASELINE_SERVERS.join(', ')}`);
  return {
    replicas: positiveInt('replicas', values.replicas, 2, 8),
    threads: positiveInt('threads', values.threads, 2, 64),
    connections: positiveInt('connections', values.connections, 32, 4096),
    durationSeconds: positiveInt('duration', values.duration, 10, 300),
    warmupSeconds: positiveInt('warmup', values.warmup, 5, 120),
    rounds: positiveInt('rounds', values.rounds, 4, 20),
    logLevels,
    revokes: positiveInt('revokes', values.revokes, 200, 10_000),
    revokeReplicas,
    curveRevokes: positiveInt('curve-revokes', values['curve-revokes'], 100, 10_000),
    baselineServer: baselineServer as BaselineServer,
    cpuProf: values['cpu-prof'] ?? false,
    skipDocs: values['skip-docs'] ?? false,
    checkGoals: values['check-goals'] ?? false,
  };
}
