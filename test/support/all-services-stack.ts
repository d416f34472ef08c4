import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { runCleanup } from '../../services/auth-service/test/support/auth-harness';
import { readConfig as readRealtimeConfig } from '../../services/realtime-service/src/config';
import { startRealtimeService } from '../../services/realtime-service/src/main';
import { readConfig as readSettingsConfig } from '../../services/settings-service/src/config';
import { startSettingsService } from '../../services/settings-service/src/main';
import type { RunningService } from '@concord/common';
import { startE2eStack, type E2eStack } from './e2e-stack';
import { startPrivateGateway } from './private-gateway';

/** A private gateway in front of every service (auth, settings, realtime), e.g. for `npm run load` in tests. */
export interface AllServicesStack {
  /** `https://localhost:<free port>`. */
  gatewayUrl: string;
  caFile: string;
  ca: string;
  auth: E2eStack;
  /** settings-service replicas (in-process, behind the gateway's `settings` upstream), in order. */
  settings: RunningService[];
  /** realtime-service replicas (in-process, behind the gateway's `realtime` upstream), in order. */
  realtime: RunningService[];
  /** Creates the first ceo (straight at the auth replica, so no gateway limit is involved). */
  setup(admin: { username: string; password: string }): Promise<void>;
  cleanup(): Promise<void>;
}

/** Discards log lines (the tests assert on what the load tool reports, not on service logs). */
const discard = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

/** Options of {@link startAllServicesStack}. */
export interface AllServicesOptions {
  credentialLimit?: { rate: string; burst: number };
  /** Auth replicas (processes; default 1). */
  authReplicas?: number;
  /** settings-service replicas (default 1). */
  settingsReplicas?: number;
  /** realtime-service replicas (default 1). */
  realtimeReplicas?: number;
  /**
   * Extra environment of every service (auth processes and in-process replicas alike), e.g.
   * `REDIS_CLUSTER_NODES` and `SOCKETIO_ADAPTER=sharded` for the Redis Cluster rehearsal.
   */
  env?: Record<string, string>;
}

/**
 * Auth replicas as processes (test/support/e2e-stack.ts, from the build: `npm run build` first),
 * settings-service and realtime-service in-process the way their own tests start them, and a
 * private nginx rendered with all three upstreams, all on free ports with a private database and
 * Redis prefix. Never the local stack's fixed ports.
 */
export async function startAllServicesStack(options: AllServicesOptions = {}): Promise<AllServicesStack> {
  // Load runs offer far more than the per-user API limit's default (100 per minute): the limit is
  // raised here as an operator raises it for a load test (env is the live keys' default).
  const generousLimit = { RATE_LIMIT_MAX_REQUESTS: '10000', RATE_LIMIT_TIME_UNIT: 'second' };
  const extraEnv = { ...generousLimit, ...options.env };
  const auth = await startE2eStack({
    authReplicas: options.authReplicas ?? 1,
    gateway: false,
    env: extraEnv,
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-load-'));
  const settings: RunningService[] = [];
  const realtime: RunningService[] = [];
  let nginx: { stop(): Promise<void> } | undefined;
  const cleanup = () =>
    runCleanup([
      () => nginx?.stop(),
      () => Promise.all([...settings, ...realtime].map((s) => s.shutdown())),
      () => auth.cleanup(),
      () => rmSync(dir, { recursive: true, force: true }),
    ]);
  try {
    const common = {
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      DATABASE_URL: auth.db.url,
      REDIS_URL: auth.redisUrl,
      REDIS_PREFIX: auth.prefix,
      JWKS_URL: `${auth.replicas[0]!.internalUrl}/.well-known/jwks.json`,
      TRUSTED_PROXIES: '127.0.0.2/32',
      EXPOSE_REPLICA_HEADER: 'true',
      REVOCATION_LEASE_MS: auth.env.REVOCATION_LEASE_MS ?? '2000',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    };
    for (let i = 1; i <= (options.settingsReplicas ?? 1); i++) {
      const config = { ...common, SETTINGS_BENCH_NAMESPACE: 'true', REPLICA_ID: `settings-load-${i}` };
      settings.push(await startSettingsService(readSettingsConfig(config), { logDestination: discard() }));
    }
    for (let i = 1; i <= (options.realtimeReplicas ?? 1); i++) {
      const config = { ...common, REPLICA_ID: `realtime-load-${i}` };
      realtime.push(await startRealtimeService(readRealtimeConfig(config), { logDestination: discard() }));
    }

    const gateway = await startPrivateGateway({
      dir,
      ports: {
        auth: auth.replicas.map((r) => r.port),
        settings: settings.map((r) => r.port),
        realtime: realtime.map((r) => r.port),
      },
      credentialLimit: options.credentialLimit,
    });
    nginx = gateway;
    return {
      gatewayUrl: gateway.url,
      caFile: gateway.caFile,
      ca: gateway.caCert.toString('utf8'),
      auth,
      settings,
      realtime,
      async setup(admin) {
        const answer = await fetch(`${auth.replicas[0]!.url}/api/v1/auth/setup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(admin),
        });
        if (answer.status !== 201) throw new Error(`setup answered ${answer.status}: ${await answer.text()}`);
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
