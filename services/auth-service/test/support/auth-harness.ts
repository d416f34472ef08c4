import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@concord/db';
import { ConcordClient } from '@concord/client';
import { systemClock, type Clock } from '@concord/common';
import { Redis } from 'ioredis';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { readConfig } from '../../src/config';
import { startAuthService, type RunningAuthService } from '../../src/main';
import { deleteRedisPrefix } from '../../../../test/support/redis-prefix';

/** A private Ed25519 JWK in the key-file format, with its status. */
export async function makeKey(status: 'next' | 'active' | 'retired') {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const now = new Date().toISOString();
  return {
    ...jwk,
    kid,
    alg: 'EdDSA',
    use: 'sig',
    status,
    created_at: now,
    ...(status === 'active' ? { activated_at: now } : {}),
  };
}

/** Writes a key file (mode 0600) with one active and one next key; returns its path and keys. */
export async function writeKeyFile(dir: string) {
  const keys = [await makeKey('active'), await makeKey('next')];
  const file = path.join(dir, 'jwt-keys.json');
  writeFileSync(file, JSON.stringify({ keys }, null, 2), { mode: 0o600 });
  return { file, keys };
}

/** A random Redis key/channel prefix for one test run. */
export function testRedisPrefix(): string {
  return `concord_test_${randomBytes(6).toString('hex')}:`;
}

/**
 * The environment of a test auth replica (local profile: nginx's 127.0.0.2 is the only trusted
 * proxy, replica header on, a 2 s revocation lease so lease-bound waits stay short).
 */
export function testServiceEnv(
  base: { databaseUrl: string; redisUrl: string; prefix: string; keyFile: string; logLevel: string },
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    DATABASE_URL: base.databaseUrl,
    REDIS_URL: base.redisUrl,
    REDIS_PREFIX: base.prefix,
    JWT_KEYS_FILE: base.keyFile,
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    TRUSTED_PROXIES: '127.0.0.2/32',
    EXPOSE_REPLICA_HEADER: 'true',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? base.logLevel,
    REVOCATION_LEASE_MS: '2000',
    // The general per-client limit (default 100 a minute) would throttle tests that send many
    // requests as one user; tests of the limit store their own, which wins over this env value.
    RATE_LIMIT_MAX_REQUESTS: '10000',
    ...overrides,
  };
}

/**
 * Runs every cleanup step even when some fail, then reports all failures at once: a test run must
 * neither leak processes/databases nor hide why it could not clean up.
 */
export async function runCleanup(steps: (() => Promise<unknown> | unknown)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} cleanup step(s) failed`);
}

/** Deletes every Redis key under `prefix`. */
export async function dropRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    await deleteRedisPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** A test's private auth-service cluster (in-process replicas). */
export interface AuthHarness {
  db: TestDatabase;
  prefix: string;
  redisUrl: string;
  keyFile: string;
  env: Record<string, string>;
  replicas: RunningAuthService[];
  urls: string[];
  /** A client of replica `i` (default 0), optionally from a source address. */
  client(i?: number, localAddress?: string): ConcordClient;
  /** Creates the first ceo and returns a logged-in client. */
  ceo(username?: string, password?: string): Promise<ConcordClient>;
  cleanup(): Promise<void>;
}

/** A wall clock the test can move forward (monotonic time is real, so leases keep working). */
export function offsetClock(): Clock & { advance(seconds: number): void } {
  let offsetMs = 0;
  return {
    now: () => systemClock.now() + offsetMs,
    monotonic: () => systemClock.monotonic(),
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
  };
}

/** Default password satisfying the default policy in tests. */
export const PASSWORD = 'correct horse battery staple';

/**
 * Starts `replicas` auth-service instances on port 0 against a fresh database and Redis prefix.
 * `env` overrides configuration (e.g. a short `REVOCATION_LEASE_MS`).
 */
export async function startAuthHarness(
  options: {
    replicas?: number;
    env?: Record<string, string>;
    clock?: Clock;
    /** A database the test prepared (migrated); the harness drops it at cleanup. */
    database?: TestDatabase;
  } = {},
): Promise<AuthHarness> {
  const db = options.database ?? (await createTestDatabase({ migrate: true }));
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-auth-'));
  const { file } = await writeKeyFile(dir);
  const prefix = testRedisPrefix();
  const redisUrl = options.env?.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const env = testServiceEnv(
    { databaseUrl: db.url, redisUrl, prefix, keyFile: file, logLevel: 'silent' },
    {
      PORT: '0',
      METRICS_PORT: '0',
      INTERNAL_PORT: '0',
      ...options.env,
    },
  );
  const replicas: RunningAuthService[] = [];
  const clients: ConcordClient[] = [];
  try {
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      replicas.push(
        await startAuthService(readConfig({ ...env, REPLICA_ID: `auth-test-${i + 1}` }), {
          clock: options.clock,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(replicas.map((r) => r.shutdown()));
    await db.drop();
    throw err;
  }
  const urls = replicas.map((r) => `http://127.0.0.1:${r.port}`);
  const harness: AuthHarness = {
    db,
    prefix,
    redisUrl,
    keyFile: file,
    env,
    replicas,
    urls,
    client(i = 0, localAddress) {
      const c = new ConcordClient({ baseUrl: urls[i]!, localAddress });
      clients.push(c);
      return c;
    },
    async ceo(username = 'root-ceo', password = PASSWORD) {
      const c = harness.client();
      await c.setup(username, password);
      await c.login(username, password);
      return c;
    },
    cleanup: () =>
      runCleanup([
        () => clients.forEach((c) => c.close()),
        () => Promise.all(replicas.map((r) => r.shutdown())),
        () => dropRedisPrefix(redisUrl, prefix),
        () => db.drop(),
        () => rmSync(dir, { recursive: true, force: true }),
      ]),
  };
  return harness;
}
