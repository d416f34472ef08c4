import { randomBytes } from 'node:crypto';
import { dropRedisPrefix } from '../../services/auth-service/test/support/auth-harness';
import type { BenchContext } from './bench-context';
import { beginBenchRun, publishBenchResult } from './bench-publish';
import { describeMachine } from './machine';
import { redisBenchmarkVersion, runRedisBenchmark } from './redis-benchmark';
import { renderRedisHtml, renderRedisSection } from './redis-doc';
import { parseRedisOptions } from './redis.options';
import { redisReferences, type RedisBenchResult, type RedisCommandResult } from './redis.results';

const HOST = '127.0.0.1';
const PORT = 6379;

/**
 * The commands measured, on the run's private `prefix`: a revoke costs a SET of the snapshot entry
 * and a PUBLISH, a replica's check reads memory (no GET), presence uses sets and PUBLISH; PING is
 * the bare round trip. The value is as long as a revocation entry's `exp`.
 */
function commands(prefix: string): { name: string; args: string[] }[] {
  return [
    { name: 'PING', args: ['PING'] },
    { name: 'SET', args: ['SET', `${prefix}key`, '1767225600'] },
    { name: 'GET', args: ['GET', `${prefix}key`] },
    {
      name: 'PUBLISH',
      args: [
        'PUBLISH',
        `${prefix}channel`,
        'revoked sid 00000000-0000-0000-0000-000000000000 exp 1767225600',
      ],
    },
  ];
}

/**
 * `npm run bench -- redis`: redis-benchmark against the local Redis, each command at `--clients`
 * connections and at one, on keys and a channel under a private prefix that is deleted afterwards
 * (nothing else is touched; never FLUSH). Writes `.run/bench/redis-<timestamp>.{json,html}` and the
 * docs/benchmarks.md section; its figures are reference rows of the summary, with no goal.
 */
export async function redisScenario(ctx: BenchContext): Promise<number> {
  const o = parseRedisOptions(ctx.args);
  const { loadAtStart, build, startedAt, stamp, outDir } = beginBenchRun(ctx, 'redis');
  const version = await redisBenchmarkVersion();
  if (!version) throw new Error('redis-benchmark is not installed (Debian: apt-get install -y redis-tools)');
  const redisUrl = `redis://${HOST}:${PORT}`;
  const machine = await describeMachine(undefined, redisUrl, loadAtStart);
  const prefix = `concord_bench_${randomBytes(6).toString('hex')}:`;
  ctx.defer('redis-benchmark keys', () => dropRedisPrefix(redisUrl, prefix));

  const results: RedisCommandResult[] = [];
  for (const c of commands(prefix)) {
    const run = (clients: number, requests: number) =>
      runRedisBenchmark({ host: HOST, port: PORT, clients, requests, command: c.args });
    const parallel = await run(o.clients, o.requests);
    const sequential = await run(1, o.sequentialRequests);
    ctx.progress(
      `[redis] ${c.name.padEnd(7)} ${parallel.requestsPerSecond.toFixed(0).padStart(7)} req/s at ${o.clients} connections (p99 ${parallel.latencyMs.p99.toFixed(3)} ms); one connection p50 ${sequential.latencyMs.p50.toFixed(3)} ms, p99 ${sequential.latencyMs.p99.toFixed(3)} ms`,
    );
    results.push({ name: c.name, command: c.args.join(' '), parallel, sequential });
  }
  const result: RedisBenchResult = {
    scenario: 'redis',
    command: ctx.command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    build,
    redisBenchmarkVersion: version,
    settings: {
      host: HOST,
      port: PORT,
      requests: o.requests,
      clients: o.clients,
      sequentialRequests: o.sequentialRequests,
    },
    commands: results,
    goals: [],
    references: redisReferences(results, o.clients),
  };
  return publishBenchResult(ctx, {
    name: 'redis',
    stamp,
    outDir,
    result,
    goals: result.goals,
    html: renderRedisHtml,
    section: renderRedisSection,
    keepDocs: o.skipDocs ? '--skip-docs' : undefined,
    checkGoals: o.checkGoals,
  });
}
