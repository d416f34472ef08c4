import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConcordClient } from '@concord/client';
import { createTestDatabase, type TestDatabase } from '@concord/db';
import {
  dropRedisPrefix,
  runCleanup,
  testRedisPrefix,
  testServiceEnv,
  writeKeyFile,
} from '../../services/auth-service/test/support/auth-harness';
import { startPrivateGateway } from './private-gateway';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from './processes';

const ROOT = path.resolve(__dirname, '../..');
export const AUTH_MAIN = path.join(ROOT, 'services/auth-service/dist/main.js');
const SETTINGS_MAIN = path.join(ROOT, 'services/settings-service/dist/main.js');
const REALTIME_MAIN = path.join(ROOT, 'services/realtime-service/dist/main.js');

/** One auth-service replica running as its own process (so it can be paused with SIGSTOP). */
export interface Replica {
  id: string;
  port: number;
  url: string;
  /** The internal listener (JWKS and health for sibling services). */
  internalUrl: string;
  /** `http://127.0.0.1:<METRICS_PORT>/metrics`. */
  metricsUrl: string;
  process: ManagedProcess;
  pause(): void;
  resume(): void;
}

/** A private stack: N auth replicas as processes behind a private nginx, own DB and Redis prefix. */
export interface E2eStack {
  gatewayUrl: string;
  caCert: Buffer;
  replicas: Replica[];
  /** settings-service replicas (behind the gateway's `settings` upstream). */
  settings: Replica[];
  /** realtime-service replicas (behind the gateway's `realtime` upstream, hashed by client address). */
  realtime: Replica[];
  /** The gateway's CA file (for clients that take a path). */
  caFile: string;
  db: TestDatabase;
  prefix: string;
  redisUrl: string;
  env: Record<string, string>;
  /** Client through the gateway (or straight to replica `i`), from `localAddress`. */
  client(options?: { replica?: number; localAddress?: string }): ConcordClient;
  cleanup(): Promise<void>;
}

/** Options of {@link startE2eStack}. */
export interface E2eOptions {
  authReplicas?: number;
  /** settings-service replicas (default 0), each started with `settingsEnv[i]` on top of `env`. */
  settingsReplicas?: number;
  settingsEnv?: Record<string, string>[];
  /** realtime-service replicas (default 0), each started with `realtimeEnv[i]` on top of `env`. */
  realtimeReplicas?: number;
  realtimeEnv?: Record<string, string>[];
  env?: Record<string, string>;
  /** Defaults to the machine's Redis. */
  redisUrl?: string;
  gateway?: boolean;
  /**
   * nginx's per-address limit on the credential endpoints. By default it is far above anything a
   * test sends, so only tests of the limit itself meet it.
   */
  credentialLimit?: { rate: string; burst: number };
}

/** Spawns one replica of `main` on free ports. */
export async function spawnReplica(id: string, main: string, env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const internalPort = await freePort();
  const metricsPort = await freePort();
  const proc = spawnManaged(id, process.execPath, [main], {
    ...env,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    INTERNAL_PORT: String(internalPort),
    REPLICA_ID: id,
  });
  return {
    id,
    port,
    url: `http://127.0.0.1:${port}`,
    internalUrl: `http://127.0.0.1:${internalPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    process: proc,
    pause: () => proc.child.kill('SIGSTOP'),
    resume: () => proc.child.kill('SIGCONT'),
  };
}

/** Waits until the replica's `/readyz` answers 200 (its revocation snapshot is loaded). */
export function waitReady(r: Replica): Promise<void> {
  return waitFor(
    async () => (await fetch(`${r.url}/readyz`)).status === 200,
    30_000,
    () => `${r.id} did not become ready:\n${r.process.output()}`,
  );
}

/**
 * Starts the stack from the built services (`npm run build` first). Everything is private to the
 * test: database, Redis prefix, ports, TLS material and nginx run directory; `cleanup` removes it.
 */
export async function startE2eStack(options: E2eOptions = {}): Promise<E2eStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-e2e-'));
  const db = await createTestDatabase({ migrate: true });
  const prefix = testRedisPrefix();
  const redisUrl = options.redisUrl ?? 'redis://127.0.0.1:6379';
  const { file } = await writeKeyFile(dir);
  const env = testServiceEnv(
    { databaseUrl: db.url, redisUrl, prefix, keyFile: file, logLevel: 'warn' },
    options.env,
  );
  const replicas: Replica[] = [];
  const settings: Replica[] = [];
  const realtime: Replica[] = [];
  const clients: ConcordClient[] = [];
  let nginx: { stop(): Promise<void> } | undefined;

  const cleanup = () =>
    runCleanup([
      () => clients.forEach((c) => c.close()),
      // Services before nginx: a long-poll a client left pending (its close packet lost in the
      // race with the stop) is answered by the node's drain, instead of holding nginx's graceful
      // stop until the ping interval answers it (10 s, then SIGKILL).
      () => Promise.all([...replicas, ...settings, ...realtime].map((r) => r.process.stop())),
      () => nginx?.stop(),
      () => dropRedisPrefix(redisUrl, prefix),
      () => db.drop(),
      () => rmSync(dir, { recursive: true, force: true }),
    ]);

  try {
    for (let i = 1; i <= (options.authReplicas ?? 2); i++) {
      replicas.push(await spawnReplica(`auth-service-${i}`, AUTH_MAIN, env));
    }
    for (const r of replicas) await waitReady(r);
    for (let i = 1; i <= (options.settingsReplicas ?? 0); i++) {
      const replica = await spawnReplica(`settings-service-${i}`, SETTINGS_MAIN, {
        ...env,
        // The internal listener: siblings never fetch keys from the API port (DESIGN.md section 4).
        JWKS_URL: `${replicas[0]!.internalUrl}/.well-known/jwks.json`,
        SETTINGS_BENCH_NAMESPACE: 'true',
        ...options.settingsEnv?.[i - 1],
      });
      settings.push(replica);
    }
    for (let i = 1; i <= (options.realtimeReplicas ?? 0); i++) {
      const replica = await spawnReplica(`realtime-service-${i}`, REALTIME_MAIN, {
        ...env,
        JWKS_URL: `${replicas[0]!.internalUrl}/.well-known/jwks.json`,
        SETTINGS_BENCH_NAMESPACE: 'true',
        // Cleanup stops every node: no client is left to move, so the drain need not wait long.
        REALTIME_DRAIN_MS: '200',
        ...options.realtimeEnv?.[i - 1],
      });
      realtime.push(replica);
    }
    for (const r of [...settings, ...realtime]) await waitReady(r);
    let gatewayUrl = '';
    let caCert: Buffer = Buffer.alloc(0);
    let caFile = '';
    if (options.gateway ?? true) {
      const gateway = await startPrivateGateway({
        dir,
        ports: {
          auth: replicas.map((r) => r.port),
          settings: settings.map((r) => r.port),
          realtime: realtime.map((r) => r.port),
        },
        credentialLimit: options.credentialLimit,
      });
      nginx = gateway;
      ({ url: gatewayUrl, caCert, caFile } = gateway);
    }
    return {
      gatewayUrl,
      caCert,
      replicas,
      settings,
      realtime,
      caFile,
      db,
      prefix,
      redisUrl,
      env,
      client(opts = {}) {
        const baseUrl = opts.replica === undefined ? gatewayUrl : replicas[opts.replica]!.url;
        const c = new ConcordClient({ baseUrl, ca: caCert, localAddress: opts.localAddress });
        clients.push(c);
        return c;
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
