import { Writable } from 'node:stream';
import {
  ConcordClient,
  connectRealtime,
  type RealtimeClient,
  type RealtimeClientOptions,
} from '@concord/client';
import type { Role } from '@concord/common';
import {
  PASSWORD,
  runCleanup,
  startAuthHarness,
  type AuthHarness,
} from '../../../auth-service/test/support/auth-harness';
import { readConfig } from '../../src/config';
import { startRealtimeService, type RunningRealtimeService } from '../../src/main';

/** A logged-in user of the test cluster. */
export interface TestUser {
  id: string;
  sid: string;
  username: string;
  role: Role;
  token: string;
  http: ConcordClient;
}

/** Log lines of one node, parsed (for assertions on what is logged). */
export interface LogCapture {
  lines(): Record<string, unknown>[];
}

/** A private realtime cluster: one in-process auth-service and N in-process realtime nodes. */
export interface RealtimeCluster {
  auth: AuthHarness;
  nodes: RunningRealtimeService[];
  urls: string[];
  logs: LogCapture[];
  /** The environment every node was started with (for spawned nodes). */
  env: Record<string, string>;
  /** Creates a user with `role` (through the ceo) and logs in once. */
  user(role?: Role): Promise<TestUser>;
  /** A second session of `user` (a new login). */
  login(user: TestUser): Promise<TestUser>;
  /** A realtime client of node `node`; closed at cleanup. */
  connect(node: number, token: string, options?: Partial<RealtimeClientOptions>): RealtimeClient;
  /** Starts one more node (e.g. after stopping one). */
  addNode(overrides?: Record<string, string>): Promise<RunningRealtimeService>;
  cleanup(): Promise<void>;
}

/** Options of {@link startRealtimeCluster}. */
export interface RealtimeClusterOptions {
  nodes?: number;
  adapter?: 'classic' | 'sharded';
  /** Overrides for the realtime nodes. */
  env?: Record<string, string>;
  /** Overrides for auth-service (e.g. a private Redis). */
  authEnv?: Record<string, string>;
}

let counter = 0;

function captureLogs(): { stream: Writable; capture: LogCapture } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, capture: { lines: () => lines } };
}

/**
 * Short presence timings so that the node-death tests stay quick; the assertions keep the
 * contract's generous bounds (15 s), never these values.
 */
export const TEST_PRESENCE_ENV = {
  PRESENCE_NODE_TTL_MS: '2000',
  PRESENCE_HEARTBEAT_MS: '500',
  PRESENCE_SWEEP_MS: '250',
  REALTIME_DRAIN_MS: '500',
};

/** Starts auth-service and `nodes` realtime nodes on port 0, sharing a fresh Redis prefix. */
export async function startRealtimeCluster(options: RealtimeClusterOptions = {}): Promise<RealtimeCluster> {
  const auth = await startAuthHarness({ env: options.authEnv });
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    REDIS_URL: auth.redisUrl,
    REDIS_PREFIX: auth.prefix,
    // The settings follower reads the stored settings from the shared Postgres.
    DATABASE_URL: auth.db.url,
    RATE_LIMIT_MAX_REQUESTS: '10000', // tests of the limit store their own (stored wins)
    TRUSTED_PROXIES: '127.0.0.2/32',
    JWKS_URL: `${auth.urls[0]}/.well-known/jwks.json`,
    REVOCATION_LEASE_MS: auth.env.REVOCATION_LEASE_MS ?? '2000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'debug',
    SOCKETIO_ADAPTER: options.adapter ?? 'classic',
    ...TEST_PRESENCE_ENV,
    ...options.env,
  };
  const nodes: RunningRealtimeService[] = [];
  const logs: LogCapture[] = [];
  const clients: RealtimeClient[] = [];
  const https: ConcordClient[] = [];
  let ceo: ConcordClient | undefined;

  async function addNode(overrides: Record<string, string> = {}) {
    const { stream, capture } = captureLogs();
    const node = await startRealtimeService(
      readConfig({ ...env, REPLICA_ID: `realtime-test-${nodes.length + 1}`, ...overrides }),
      { logDestination: stream },
    );
    nodes.push(node);
    logs.push(capture);
    return node;
  }

  const cluster: RealtimeCluster = {
    auth,
    nodes,
    logs,
    env,
    get urls() {
      return nodes.map((n) => `http://127.0.0.1:${n.port}`);
    },
    async user(role = 'member') {
      ceo ??= await auth.ceo(`ceo-${process.pid}-${++counter}`);
      const username = `rt-${role}-${process.pid}-${++counter}`;
      await ceo.createUser(username, PASSWORD, role);
      const http = auth.client();
      https.push(http);
      const tokens = await http.login(username, PASSWORD);
      return {
        id: tokens.session.user_id,
        sid: tokens.session.session_id,
        username,
        role,
        token: tokens.access_token,
        http,
      };
    },
    async login(user) {
      const http = auth.client();
      https.push(http);
      const tokens = await http.login(user.username, PASSWORD);
      return { ...user, sid: tokens.session.session_id, token: tokens.access_token, http };
    },
    connect(node, token, overrides = {}) {
      const client = connectRealtime({
        url: cluster.urls[node]!,
        token,
        socketOptions: { reconnection: false, ...overrides.socketOptions },
        ...overrides,
      });
      clients.push(client);
      return client;
    },
    addNode,
    cleanup: () =>
      runCleanup([
        () => clients.forEach((c) => c.close()),
        () => https.forEach((c) => c.close()),
        () => Promise.all(nodes.map((n) => n.shutdown())),
        () => auth.cleanup(),
      ]),
  };
  try {
    for (let i = 0; i < (options.nodes ?? 2); i++) await addNode();
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
  return cluster;
}

/** Resolves with the next `event` on `client`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(client: RealtimeClient, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    client.socket.once(
      event as never,
      ((payload: T) => {
        clearTimeout(timer);
        resolve(payload);
      }) as never,
    );
  });
}

/** Collects every `event` on `client` from now on. */
export function collect<T = unknown>(client: RealtimeClient, event: string): T[] {
  const seen: T[] = [];
  client.socket.on(event as never, ((payload: T) => seen.push(payload)) as never);
  return seen;
}

/** Polls `check` every 50 ms until true or `timeoutMs` (then throws `message`). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits `ms` (for asserting that something does NOT happen within a bound). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
