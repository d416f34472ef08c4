import { parseArgs } from 'node:util';
import { parseOrUsage, positiveInt } from './auth.options';

/** Options of the redis scenario (`npm run bench -- redis [options]`). */
export interface RedisOptions {
  /** Requests per command of the throughput run. */
  requests: number;
  /** Parallel connections of the throughput run. */
  clients: number;
  /** Requests per command of the one-connection run (the latency of one round trip). */
  sequentialRequests: number;
  skipDocs: boolean;
  /** Accepted like every scenario's; redis has reference figures only, no goal to miss. */
  checkGoals: boolean;
}

/** Usage text, printed on a bad option. */
export const REDIS_USAGE = `npm run bench -- redis [--requests 100000] [--clients 50] [--sequential-requests 20000]
  [--skip-docs] [--check-goals]
    redis-benchmark against 127.0.0.1:6379: PING, SET, GET and PUBLISH on keys and a channel
    under a private prefix (deleted afterwards; never FLUSH), at --clients connections and at
    one; reference rows of the summary (the floor of the revocation and presence latencies).`;

/** Parses and bounds the scenario's arguments (a UsageError when they are wrong). */
export function parseRedisOptions(args: string[]): RedisOptions {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      options: {
        requests: { type: 'string' },
        clients: { type: 'string' },
        'sequential-requests': { type: 'string' },
        'skip-docs': { type: 'boolean' },
        'check-goals': { type: 'boolean' },
      },
    }),
  );
  return {
    requests: positiveInt('requests', values.requests, 100_000, 10_000_000),
    clients: positiveInt('clients', values.clients, 50, 1_000),
    sequentialRequests: positiveInt('sequential-requests', values['sequential-requests'], 20_000, 1_000_000),
    skipDocs: values['skip-docs'] === true,
    checkGoals: values['check-goals'] === true,
  };
}
