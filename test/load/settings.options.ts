import { parseArgs } from 'node:util';
import { LOG_LEVELS, parseOrUsage, positiveInt } from './auth.options';
import { UsageError } from './bench-context';

/** Options of the settings scenario (`npm run bench -- settings [options]`). */
export interface SettingsOptions {
  /** Seconds of every measured period (a CAS round per side, the hot key, a GET round per side). */
  durationSeconds: number;
  warmupSeconds: number;
  /** Alternating ours/baseline pairs, for the CAS and for each GET variant. */
  rounds: number;
  /** Bench keys the spread CAS writes (and pgbench's table holds). */
  keys: number;
  /** Concurrent read-modify-write clients (ours and pgbench), and hot-key writers. */
  clients: number;
  settingsReplicas: number;
  /** wrk for the GET comparison. */
  threads: number;
  connections: number;
  /** LOG_LEVEL of the replicas (default info: the production overlay's level). */
  logLevel: string;
  cpuProf: boolean;
  /** Extra replica environment for diagnostic runs (`--replica-env K=V`, repeatable; docs are left alone). */
  replicaEnv: Record<string, string>;
  skipDocs: boolean;
  checkGoals: boolean;
}

/** Usage text, printed on a bad option. */
export const SETTINGS_USAGE = `npm run bench -- settings [--duration 15] [--warmup 15] [--rounds 2] [--keys 10000]
  [--clients 16] [--replicas 2] [--threads 2] [--connections 32] [--log-level info]
  [--cpu-prof] [--replica-env KEY=VALUE ...] [--skip-docs] [--check-goals]`;

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      keys: { type: 'string' },
      clients: { type: 'string' },
      replicas: { type: 'string' },
      threads: { type: 'string' },
      connections: { type: 'string' },
      'log-level': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'replica-env': { type: 'string', multiple: true },
      'skip-docs': { type: 'boolean' },
      'check-goals': { type: 'boolean' },
    },
  });
}

/** Parses and bounds the scenario's arguments (a {@link UsageError} when they are wrong). */
export function parseSettingsOptions(args: string[]): SettingsOptions {
  const { values } = parseOrUsage(() => parseOptions(args));
  const logLevel = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be a pino level (${LOG_LEVELS.join(', ')})`);
  const replicaEnv: Record<string, string> = {};
  for (const pair of values['replica-env'] ?? []) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!m) throw new UsageError(`--replica-env takes KEY=VALUE, not ${JSON.stringify(pair)}`);
    replicaEnv[m[1]!] = m[2]!;
  }
  return {
    durationSeconds: positiveInt('duration', values.duration, 15, 300),
    warmupSeconds: positiveInt('warmup', values.warmup, 15, 120),
    rounds: positiveInt('rounds', values.rounds, 2, 20),
    keys: positiveInt('keys', values.keys, 10_000, 1_000_000),
    clients: positiveInt('clients', values.clients, 16, 256),
    settingsReplicas: positiveInt('replicas', values.replicas, 2, 8),
    threads: positiveInt('threads', values.threads, 2, 64),
    connections: positiveInt('connections', values.connections, 32, 4096),
    logLevel,
    cpuProf: values['cpu-prof'] ?? false,
    replicaEnv,
    skipDocs: values['skip-docs'] ?? false,
    checkGoals: values['check-goals'] ?? false,
  };
}
