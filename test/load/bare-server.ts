import http from 'node:http';
import { createServer, KEEP_ALIVE_TIMEOUT_MS } from '@concord/common';
import type { Express } from 'express';

/** The HTTP servers a baseline or peer app can run on (`BASELINE_SERVER`). */
export const BASELINE_SERVERS = ['express', 'concord'] as const;
export type BaselineServer = (typeof BASELINE_SERVERS)[number];

/** `BASELINE_SERVER` from the environment: `express` unless it says `concord`. */
export function baselineServer(value = process.env.BASELINE_SERVER): BaselineServer {
  if (value === undefined || value === '' || value === 'express') return 'express';
  if (value === 'concord') return 'concord';
  throw new Error(`BASELINE_SERVER must be one of ${BASELINE_SERVERS.join(', ')}, not ${value}`);
}

/**
 * The server of a baseline (bare express) or peer app. `express`: the server Express's own
 * `app.listen` makes, `http.createServer(app)`, as a team writes it, with only the keep-alive
 * timeouts of Concord's servers (config nginx's upstream pooling depends on, not CPU). `concord`:
 * Concord's own server factory, whose requests and responses are born on the app's prototypes
 * (decision 025); with it, a comparison leaves out that gain of Concord's and measures only what
 * Concord's middleware, checks and handler cost over a bare handler.
 */
export function bareServer(app: Express, kind: BaselineServer = baselineServer()): http.Server {
  if (kind === 'concord') return createServer(app);
  const server = http.createServer(app);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  return server;
}
