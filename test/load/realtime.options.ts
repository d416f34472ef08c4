import { parseArgs } from 'node:util';
import { intInRange, parseOrUsage } from './auth.options';

/** Options of the realtime scenario (`npm run bench -- realtime [options]`). */
export interface RealtimeOptions {
  /** Sockets per phase: all on one node, or split over two. */
  sockets: number;
  /** Client processes the sockets are spread over. */
  workers: number;
  /** Connects in flight per client process. */
  concurrency: number;
  broadcasts: number;
  fanoutBurst: number;
  userMessages: number;
  userIntervalMs: number;
  presenceCycles: number;
  revokes: number;
  /** Idle time between the last socket subscribed and the RSS reading. */
  settleMs: number;
  /** Also run the two-node phase on the sharded adapter. */
  sharded: boolean;
  skipDocs: boolean;
  checkGoals: boolean;
}

/** Usage text, printed on a bad option. */
export const REALTIME_USAGE = `npm run bench -- realtime [--sockets 10000] [--workers 2] [--concurrency 50]
  [--broadcasts 8] [--fanout-burst 10] [--user-messages 200] [--user-interval 25]
  [--presence-cycles 50] [--revokes 50] [--settle 10] [--no-sharded] [--skip-docs] [--check-goals]`;

/** The open-file limit of one process is 20 000 here; a node or worker must stay below it. */
export const MAX_SOCKETS = 18_000;

/** Parses and bounds the scenario's arguments (a UsageError when they are wrong). */
export function parseRealtimeOptions(args: string[]): RealtimeOptions {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      options: {
        sockets: { type: 'string' },
        workers: { type: 'string' },
        concurrency: { type: 'string' },
        broadcasts: { type: 'string' },
        'fanout-burst': { type: 'string' },
        'user-messages': { type: 'string' },
        'user-interval': { type: 'string' },
        'presence-cycles': { type: 'string' },
        revokes: { type: 'string' },
        settle: { type: 'string' },
        'no-sharded': { type: 'boolean' },
        'skip-docs': { type: 'boolean' },
        'check-goals': { type: 'boolean' },
      },
    }),
  );
  const sockets = intInRange('sockets', values.sockets, 10_000, 2, MAX_SOCKETS);
  return {
    sockets,
    workers: intInRange('workers', values.workers, 2, 1, 8),
    concurrency: intInRange('concurrency', values.concurrency, 50, 1, 1_000),
    broadcasts: intInRange('broadcasts', values.broadcasts, 8, 1, 100),
    fanoutBurst: intInRange('fanout-burst', values['fanout-burst'], 10, 1, 100),
    userMessages: intInRange('user-messages', values['user-messages'], 200, 1, 10_000),
    userIntervalMs: intInRange('user-interval', values['user-interval'], 25, 1, 10_000),
    presenceCycles: intInRange('presence-cycles', values['presence-cycles'], 50, 1, 1_000),
    revokes: intInRange('revokes', values.revokes, 50, 1, 1_000),
    settleMs: 1_000 * intInRange('settle', values.settle, 10, 3, 120),
    sharded: values['no-sharded'] !== true,
    skipDocs: values['skip-docs'] === true,
    checkGoals: values['check-goals'] === true,
  };
}
