import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, createPgPool, revocationKeys } from '@concord/common';
import { Redis } from 'ioredis';
import pino from 'pino';
import { readRestoreCliConfig } from './config';
import { applyRestoreFixup } from './data-access/restore-fixup.repository';
import { failureExitCode, runAsProcess, usageConfig, UsageError, type CliOutput } from './operator-cli';

/**
 * The runbook step after a Postgres restore (docs/operations.md "Back up and restore",
 * docs/decisions/017-restore-fixup.md), a composition root of its own:
 * `node services/auth-service/dist/restore-fixup-cli.js --restored-at T --refresh-secret-file F`.
 */

const USAGE = `usage: restore-fixup --restored-at ISO-8601 [--refresh-secret-file F]
  --restored-at T           when the restore finished (e.g. date -u +%FT%TZ right after pg_restore);
                            sessions created at or before T are ended, later ones kept: run it again
                            with the same T and nothing more is ended
  --refresh-secret-file F   write a fresh REFRESH_TOKEN_SECRET to F (mode 0600); an existing F is
                            left as it is (a re-run keeps the secret the first run made)
Ends every session from the restored database (new security stamps, revoked, their revocation
entries in the outbox) and makes every auth replica re-seed the revocation snapshot from Postgres.
Environment: DATABASE_URL, REDIS_URL, REDIS_PREFIX, JWT_MAX_ACCESS_TTL_SECONDS (as the services).`;

function restoredAtOf(text: string | undefined, now: Date): Date {
  if (text === undefined) throw new UsageError('--restored-at is required');
  // An ISO-8601 date-time with an explicit offset: a local time would shift the cut by hours.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw new UsageError('--restored-at must be an ISO-8601 date-time with Z or an offset');
  }
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new UsageError('--restored-at is not a valid date-time');
  if (at.getTime() > now.getTime() + 60_000) throw new UsageError('--restored-at lies in the future');
  return at;
}

/** Writes a new secret only where none is: `false` when F already existed. */
async function writeRefreshSecret(file: string): Promise<boolean> {
  try {
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Deleting the epoch is what a `FLUSHALL` does to it: every running auth replica's heartbeat notices
 * within a quarter lease and re-seeds the snapshot from Postgres, and every process reloads under
 * the new epoch (decision 001). Without a running auth replica the next one to start seeds anyway.
 */
async function requestReseed(redisUrl: string, prefix: string): Promise<number> {
  // One attempt: a failure is reported (exit 1) and the operator re-runs, nothing retries forever.
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // surfaced by connect() or del() below
  try {
    await redis.connect();
    return await redis.del(revocationKeys(prefix).epoch);
  } finally {
    redis.disconnect();
  }
}

/** Runs the fixup and returns the process exit code (0 done, 1 failed: run it again, 2 usage). */
export async function runRestoreFixupCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
  now: () => Date = () => new Date(),
): Promise<number> {
  let pool: ReturnType<typeof createPgPool> | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'restored-at': { type: 'string' },
        'refresh-secret-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const restoredAt = restoredAtOf(values['restored-at'], now());
    const config = usageConfig(() => readRestoreCliConfig(env));

    // The secret first: it touches nothing shared, and an operator who must redeploy auth-service
    // with it learns the file's path before anything else can fail.
    if (values['refresh-secret-file']) {
      const file = resolve(values['refresh-secret-file']);
      io.out(
        (await writeRefreshSecret(file))
          ? `wrote a new REFRESH_TOKEN_SECRET to ${file} (mode 0600): deploy it to every auth replica`
          : `${file} exists; left unchanged (deploy the secret it holds to every auth replica)`,
      );
    }

    const logger = createLogger({
      level: 'warn',
      service: 'restore-fixup',
      replicaId: 'cli',
      destination: pino.destination({ dest: 2, sync: true }),
    });
    pool = createPgPool(config.DATABASE_URL, logger, { max: 1 });
    const result = await applyRestoreFixup(pool, {
      restoredAt,
      maxAccessTtlSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
      now: now(),
    });
    io.out(`new security stamps: ${result.stampsChanged} users`);
    io.out(
      `sessions from before ${restoredAt.toISOString()} revoked: ${result.newlyRevoked} ` +
        `(revocation entries in the outbox: ${result.commit.entries.length})`,
    );
    const deleted = await requestReseed(config.REDIS_URL, config.REDIS_PREFIX);
    io.out(
      deleted === 1
        ? 'revocation epoch deleted: running auth replicas re-seed the snapshot from Postgres'
        : 'no revocation epoch in Redis: the next auth replica to start seeds the snapshot',
    );
    return 0;
  } catch (err) {
    return failureExitCode(err, io, {
      name: 'restore-fixup',
      usage: USAGE,
      hint: 'restore-fixup: nothing is half done that a re-run with the same --restored-at cannot finish',
    });
  } finally {
    await pool?.end();
  }
}

if (require.main === module) {
  runAsProcess('restore-fixup', (argv, env, io) => runRestoreFixupCli(argv, env, io));
}
