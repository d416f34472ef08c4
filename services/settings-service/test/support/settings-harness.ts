import { randomBytes } from 'node:crypto';
import type { Role } from '@concord/client';
import { Pool } from 'pg';
import request from 'supertest';
import {
  PASSWORD,
  runCleanup,
  startAuthHarness,
  type AuthHarness,
} from '../../../auth-service/test/support/auth-harness';
import { readConfig } from '../../src/config';
import { startSettingsService, type RunningSettingsService } from '../../src/main';

/** A logged-in user of the test's auth-service. */
export interface TestUser {
  id: string;
  role: Role;
  token: string;
}

/** A test's private cluster: one auth-service (tokens, JWKS) and settings replicas in-process. */
export interface SettingsHarness {
  auth: AuthHarness;
  replicas: RunningSettingsService[];
  /** Log lines of every settings replica (JSON text), for masking assertions. */
  logs: string[];
  /** Direct access to the test database, to verify what is stored. */
  pool: Pool;
  /** The environment the replicas were started with. */
  env: Record<string, string>;
  /** A supertest agent for replica `i` (default 0). */
  http(i?: number): ReturnType<typeof request>;
  /** Creates a user with `role` (and a unique name) and logs it in. */
  user(role: Role): Promise<TestUser>;
  /** Starts one more replica with `env` overrides (e.g. another DATABASE_URL); stopped at cleanup. */
  startReplica(env?: Record<string, string>): Promise<{ replica: RunningSettingsService; url: string }>;
  cleanup(): Promise<void>;
}

/** A fresh key of namespace `bench`, so that every test owns its data. */
export function benchKey(label: string): string {
  return `${label.replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
}

/** `Authorization` header value for `user`. */
export function bearer(user: TestUser): string {
  return `Bearer ${user.token}`;
}

/**
 * Starts an auth-service (its database is migrated, so the settings tables exist) and `replicas`
 * settings-service instances sharing its database, Redis prefix and JWKS.
 */
export async function startSettingsHarness(
  options: { replicas?: number; env?: Record<string, string> } = {},
): Promise<SettingsHarness> {
  const auth = await startAuthHarness();
  const logs: string[] = [];
  const destination = { write: (line: string) => void logs.push(line) };
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    DATABASE_URL: auth.db.url,
    REDIS_URL: auth.redisUrl,
    REDIS_PREFIX: auth.prefix,
    JWKS_URL: `${auth.urls[0]}/.well-known/jwks.json`,
    TRUSTED_PROXIES: '127.0.0.2/32',
    EXPOSE_REPLICA_HEADER: 'true',
    REVOCATION_LEASE_MS: auth.env.REVOCATION_LEASE_MS ?? '2000',
    SETTINGS_BENCH_NAMESPACE: 'true',
    RATE_LIMIT_MAX_REQUESTS: '10000', // tests of the limit store their own (stored wins)
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    ...options.env,
  };
  const replicas: RunningSettingsService[] = [];
  const urls: string[] = [];
  const pool = new Pool({ connectionString: auth.db.url, max: 4 });
  const ceo = await auth.ceo();

  async function startReplica(overrides: Record<string, string> = {}) {
    const replica = await startSettingsService(
      readConfig({ ...env, REPLICA_ID: `settings-test-${replicas.length + 1}`, ...overrides }),
      { logDestination: destination },
    );
    replicas.push(replica);
    const url = `http://127.0.0.1:${replica.port}`;
    urls.push(url);
    return { replica, url };
  }

  try {
    for (let i = 0; i < (options.replicas ?? 1); i++) await startReplica();
  } catch (err) {
    await runCleanup([
      () => Promise.all(replicas.map((r) => r.shutdown())),
      () => pool.end(),
      () => auth.cleanup(),
    ]);
    throw err;
  }

  return {
    auth,
    replicas,
    logs,
    pool,
    env,
    http: (i = 0) => request(urls[i]!),
    async user(role) {
      const username = `u${randomBytes(6).toString('hex')}`;
      const created = await ceo.createUser(username, PASSWORD, role);
      const client = auth.client();
      const tokens = await client.login(username, PASSWORD);
      client.close();
      return { id: created.id, role, token: tokens.access_token };
    },
    startReplica,
    cleanup: () =>
      runCleanup([
        () => Promise.all(replicas.map((r) => r.shutdown())),
        () => pool.end(),
        () => auth.cleanup(),
      ]),
  };
}
