import type { Goal, Reference } from './auth.results';
import type { BuildInfo } from './build-info';
import { f } from './benchmarks-doc';
import type { MachineInfo } from './machine';
import type { RedisBenchmarkLine } from './redis-benchmark';

/** The shape of `.run/bench/redis-<timestamp>.json`, also fed to the HTML and Markdown writers. */

/** One command at both concurrency levels. */
export interface RedisCommandResult {
  /** PING, SET, GET or PUBLISH. */
  name: string;
  /** The command line sent (with the run's private key or channel). */
  command: string;
  /** At `--clients` connections. */
  parallel: RedisBenchmarkLine;
  /** At one connection: each request waits for the previous answer. */
  sequential: RedisBenchmarkLine;
}

/** Everything one `npm run bench -- redis` measured. */
export interface RedisBenchResult {
  scenario: 'redis';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  build: BuildInfo;
  redisBenchmarkVersion: string;
  settings: { host: string; port: number; requests: number; clients: number; sequentialRequests: number };
  commands: RedisCommandResult[];
  /** None: redis-benchmark is a reference, not something Concord must beat. */
  goals: Goal[];
  references: Reference[];
}

/** The summary's reference rows: one per command (pure). */
export function redisReferences(commands: readonly RedisCommandResult[], clients: number): Reference[] {
  return commands.map((c) => ({
    name: `redis-benchmark ${c.name} on the local Redis`,
    measured: `${f(c.parallel.requestsPerSecond, 0)} req/s at ${clients} connections; one connection: p50 ${f(c.sequential.latencyMs.p50, 3)} / p99 ${f(c.sequential.latencyMs.p99, 3)} ms`,
    baseline: 'reference: the floor under revocation (SET + PUBLISH) and presence',
  }));
}
