import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { ConcordClient, type TokenResponse } from '@concord/client';
import { revocationKeys } from '@concord/common';
import { createTestDatabase, ensureDatabase, type TestDatabase } from '@concord/db';
import {
  dropRedisPrefix,
  PASSWORD,
  runCleanup,
  testRedisPrefix,
  testServiceEnv,
  writeKeyFile,
} from '../services/auth-service/test/support/auth-harness';
import { AUTH_MAIN, spawnReplica, waitReady, type Replica } from './support/e2e-stack';
import { waitFor } from './support/processes';

/**
 * DESIGN.md section 4 after a Postgres restore (docs/decisions/017-restore-fixup.md): a dump taken
 * before a session was revoked brings that session, and the refresh token it consumed since, back.
 * The fixup CLI (`npm run restore-fixup`) must keep it dead, log everyone out, and let users log in.
 */
const run = promisify(execFile);
const FIXUP_CLI = path.resolve(__dirname, '../services/auth-service/dist/restore-fixup-cli.js');
const LEASE_MS = 2_000;

let dir: string;
let db: TestDatabase;
let prefix: string;
let env: Record<string, string>;
let dump: string;
let auth: Replica | undefined;
const clients: ConcordClient[] = [];
const redisUrl = 'redis://127.0.0.1:6379';
const firstSecret = 'the-refresh-secret-before-the-restore-0123456789';

/** Tokens of the victim's session: as they were in the dump, and as issued after the dump. */
let atBackup: TokenResponse;
let afterBackup: TokenResponse;
/** A session that was live in the dump and never revoked (another user's). */
let bystander: TokenResponse;
/** The instant the fixup's first run was given. */
let firstRestoredAt: string;

function client(): ConcordClient {
  const c = new ConcordClient({ baseUrl: auth!.url });
  clients.push(c);
  return c;
}

async function startAuth(refreshSecret: string): Promise<void> {
  auth = await spawnReplica('auth-service-1', AUTH_MAIN, { ...env, REFRESH_TOKEN_SECRET: refreshSecret });
  await waitReady(auth);
}

async function stopAuth(): Promise<void> {
  clients.splice(0).forEach((c) => c.close());
  await auth?.process.stop();
  auth = undefined;
}

/**
 * The runbook's restore with the services stopped: the database dropped and recreated from the dump
 * with pg_restore. Redis is emptied as well: after a disaster it may have lost its data too, and the
 * revocation snapshot entries would expire with their tokens anyway, so the test must not lean on one.
 */
async function restoreFromDump(): Promise<void> {
  await stopAuth();
  await dropRedisPrefix(redisUrl, prefix);
  const server = db.url.replace(/\/[^/?]+(\?.*)?$/, '/postgres');
  await run('psql', [server, '-v', 'ON_ERROR_STOP=1', '-c', `DROP DATABASE "${db.name}" WITH (FORCE)`]);
  await ensureDatabase(db.url);
  await run('pg_restore', ['--no-owner', '--exit-on-error', '-d', db.url, dump]);
}

async function fixup(restoredAt: string, secretFile: string, redis = redisUrl) {
  return run(
    process.execPath,
    [FIXUP_CLI, '--restored-at', restoredAt, '--refresh-secret-file', secretFile],
    {
      env: { ...process.env, DATABASE_URL: db.url, REDIS_URL: redis, REDIS_PREFIX: prefix },
    },
  );
}

function expiryOf(accessToken: string): number {
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as {
    exp: number;
  };
  return claims.exp;
}

async function me(token: string) {
  return client().request<{ code?: number; session_id?: string }>('GET', '/api/v1/auth/me', { token });
}

async function refresh(refreshToken: string) {
  return client().request<TokenResponse & { code?: number }>('POST', '/api/v1/auth/refresh', {
    body: { refresh_token: refreshToken },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'concord-restore-'));
  db = await createTestDatabase({ migrate: true });
  prefix = testRedisPrefix();
  const { file } = await writeKeyFile(dir);
  env = testServiceEnv(
    { databaseUrl: db.url, redisUrl, prefix, keyFile: file, logLevel: 'warn' },
    { REVOCATION_LEASE_MS: String(LEASE_MS) },
  );
  dump = path.join(dir, 'concord.dump');
  await startAuth(firstSecret);

  const ceo = client();
  await ceo.setup('restore.ceo', PASSWORD);
  await ceo.login('restore.ceo', PASSWORD);
  await ceo.createUser('restore.member', PASSWORD, 'member');
  atBackup = await client().login('restore.member', PASSWORD);
  bystander = await client().login('restore.ceo', PASSWORD);

  await run('pg_dump', ['--format=custom', '--file', dump, db.url]);

  // After the backup: the victim's session rotates its refresh token, then is revoked. Two seconds
  // later (entries round up to the second), so the token issued after the backup expires after the
  // latest expiry the dump knows of.
  await new Promise((r) => setTimeout(r, 2_100));
  const victim = client();
  victim.refreshToken = atBackup.refresh_token;
  afterBackup = await victim.refresh();
  await victim.logout();
  expect((await me(afterBackup.access_token)).status).toBe(401);
  expect((await refresh(atBackup.refresh_token)).status).toBe(401);
});

afterAll(async () => {
  await runCleanup([
    () => stopAuth(),
    () => dropRedisPrefix(redisUrl, prefix),
    () => db?.drop(),
    () => rmSync(dir, { recursive: true, force: true }),
  ]);
});

describe('a restore from a backup taken before a revocation', () => {
  it('without the fixup, brings the revoked session back: its token is accepted, its consumed refresh token rotates again', async () => {
    await restoreFromDump();
    await startAuth(firstSecret);

    const seen = await me(afterBackup.access_token);
    expect(seen.status).toBe(200);
    expect(seen.body.session_id).toBe(atBackup.session.session_id);
    const again = await refresh(atBackup.refresh_token);
    expect(again.status).toBe(200);
    // The child is derived from the parent and the secret (decision 006): the very token issued
    // after the backup comes back, which is why the fixup rotates REFRESH_TOKEN_SECRET too.
    expect(again.body.refresh_token).toBe(afterBackup.refresh_token);
  });

  it('with the fixup run against a running auth-service (the Kubernetes order), the revived session ends without a restart', async () => {
    await restoreFromDump();
    await startAuth(firstSecret);
    expect((await me(afterBackup.access_token)).status).toBe(200);

    await fixup(new Date().toISOString(), path.join(dir, 'refresh-secret-live'));

    // The relay delivers the outbox row and the deleted epoch makes the replica re-seed: either
    // refuses the token within a few leases.
    await waitFor(
      async () => (await me(afterBackup.access_token)).status === 401,
      LEASE_MS * 10,
      () => `the revived session was not ended:\n${auth!.process.output()}`,
    );
    expect((await me(afterBackup.access_token)).body.code).toBe(1002);
    const oldRefresh = await refresh(atBackup.refresh_token);
    expect([oldRefresh.status, oldRefresh.body.code]).toEqual([401, 1002]);
  });

  it('with the fixup, the revoked session stays dead (access and refresh tokens), every restored session ends, and users log in again', async () => {
    await restoreFromDump();
    firstRestoredAt = new Date().toISOString();
    const secretFile = path.join(dir, 'refresh-secret');
    const { stdout } = await fixup(firstRestoredAt, secretFile);
    expect(stdout).toMatch(/revoked: 3 /);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret).not.toBe(firstSecret);
    await startAuth(secret);

    const victimAccess = await me(afterBackup.access_token);
    expect([victimAccess.status, victimAccess.body.code]).toEqual([401, 1002]);
    const victimOldRefresh = await refresh(atBackup.refresh_token);
    expect([victimOldRefresh.status, victimOldRefresh.body.code]).toEqual([401, 1002]);
    const victimNewRefresh = await refresh(afterBackup.refresh_token);
    expect(victimNewRefresh.status).toBe(401);
    const bystanderAccess = await me(bystander.access_token);
    expect([bystanderAccess.status, bystanderAccess.body.code]).toEqual([401, 1002]);
    const bystanderRefresh = await refresh(bystander.refresh_token);
    expect([bystanderRefresh.status, bystanderRefresh.body.code]).toEqual([401, 1002]);

    // The snapshot entry outlives every token issued before the restore, also those the dump never
    // saw (the session's access_expires_at in the dump predates them): a prune cannot revive them.
    const redis = new Redis(redisUrl);
    const score = await redis
      .zscore(revocationKeys(prefix).snapshot, atBackup.session.session_id)
      .finally(() => redis.disconnect());
    expect(Number(score)).toBeGreaterThanOrEqual(expiryOf(afterBackup.access_token));

    const member = client();
    await member.login('restore.member', PASSWORD);
    expect((await member.me()).username).toBe('restore.member');
    await member.refresh();
    expect((await member.me()).username).toBe('restore.member');
  });

  it('run again with the same --restored-at against the running service, keeps the logins made since and the dead sessions dead', async () => {
    const member = client();
    const since = await member.login('restore.member', PASSWORD);
    const secretFile = path.join(dir, 'refresh-secret');
    const before = readFileSync(secretFile, 'utf8');

    const { stdout } = await fixup(firstRestoredAt, secretFile);
    expect(stdout).toMatch(/revoked: 0 /);
    expect(stdout).toMatch(/left unchanged/);
    expect(readFileSync(secretFile, 'utf8')).toBe(before);
    expect(stdout).toMatch(/revocation epoch deleted/);

    // The deleted epoch makes the running replica re-seed; it serves again within a few leases.
    await waitFor(
      async () => (await me(since.access_token)).status === 200,
      LEASE_MS * 10,
      () => `auth-service did not serve again after the re-seed:\n${auth!.process.output()}`,
    );
    expect((await me(afterBackup.access_token)).status).toBe(401);
    expect((await refresh(since.refresh_token)).status).toBe(200);
  });
});

describe('a fixup that fails half-way', () => {
  it('when Redis is unreachable, exits 1 after committing the database part; a re-run with the same --restored-at finishes it', async () => {
    await restoreFromDump();
    const restoredAt = new Date().toISOString();
    const secretFile = path.join(dir, 'refresh-secret-half-way');
    const closedPort = 'redis://127.0.0.1:1';

    const failed = await fixup(restoredAt, secretFile, closedPort).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    const again = await fixup(restoredAt, secretFile);
    await startAuth(readFileSync(secretFile, 'utf8').trim());

    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/re-run with the same --restored-at/);
    expect(again.stdout).toMatch(/revoked: 0 /);
    const victim = await me(afterBackup.access_token);
    expect([victim.status, victim.body.code]).toEqual([401, 1002]);
  });
});

describe('rotating REFRESH_TOKEN_SECRET (the fixup writes a new one)', () => {
  it('logs nobody out: a refresh token issued under the old secret rotates under the new one', async () => {
    const member = client();
    const before = await member.login('restore.member', PASSWORD);
    await stopAuth();
    await startAuth('another-refresh-secret-after-the-rotation-0123456789');

    const rotated = await refresh(before.refresh_token);

    expect(rotated.status).toBe(200);
    expect(rotated.body.session.session_id).toBe(before.session.session_id);
    expect((await me(rotated.body.access_token)).status).toBe(200);
  });
});
