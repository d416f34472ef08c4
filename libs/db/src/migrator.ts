import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { scriptMatchesChecksum } from './migration-checksum';
import { readMigrationFiles, type MigrationFile } from './migration-files';
import { MigrationError } from './migration.errors';
import {
  createMigrationsTable,
  readMigrationRows,
  recordAppliedMigration,
  recordRolledBackMigration,
  type MigrationRow,
} from './migrations-table';

/**
 * The key of the session advisory lock that serialises migrators: 72707369 is the key Prisma's
 * schema engine takes for `prisma migrate deploy`, so our migrator and Prisma's also exclude each
 * other when both run against one database during a switch-over. The lock is session-level, so
 * the migrator must reach Postgres directly, never through a transaction-mode pooler.
 */
export const MIGRATION_LOCK_KEY = 72707369;

/**
 * `prisma/migrations` of this package. Resolved from the compiled file (dist/) or the source
 * (src/) alike: both sit one level below the package root.
 */
export const DEFAULT_MIGRATIONS_DIR = path.join(__dirname, '..', 'prisma', 'migrations');

/** How long a migrator waits for another one to finish before giving up. */
const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60_000;

/** SQLSTATE lock_not_available: lock_timeout elapsed. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The subset of a pino logger the migrator writes to. */
export interface MigrationLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Options of `migrate()`. */
export interface MigrateOptions {
  /** Where to apply the migrations. The database must exist (see `ensureDatabase`). */
  readonly databaseUrl: string;
  /** Folder in Prisma's layout; defaults to this package's `prisma/migrations`. */
  readonly migrationsDir?: string;
  /** Receives one line per migration applied; silent by default. A pino logger fits. */
  readonly logger?: MigrationLogger;
  /** How long to wait for a concurrent migrator's lock; default 5 minutes. */
  readonly lockTimeoutMs?: number;
}

/** What `migrate()` did. */
export interface MigrateResult {
  /** Names of the migrations applied by this call, in order; empty when the database was current. */
  readonly applied: string[];
}

const silentLogger: MigrationLogger = { info: () => undefined, warn: () => undefined };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function acquireLock(client: Client, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait for the advisory lock only; it is reset before any migration runs
  // so that the migrations themselves keep the server's setting.
  await client.query(`SET lock_timeout = ${Math.ceil(timeoutMs)}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === LOCK_NOT_AVAILABLE) {
      throw new MigrationError(
        'MIGRATION_LOCK_TIMEOUT',
        `Another migrator held advisory lock ${MIGRATION_LOCK_KEY} for more than ${timeoutMs} ms`,
        { cause: error },
      );
    }
    throw error;
  }
  await client.query('RESET lock_timeout');
}

/** Refuses to touch a database whose history says something is wrong, before any change. */
function checkHistory(
  rows: readonly MigrationRow[],
  files: readonly MigrationFile[],
  logger: MigrationLogger,
): ReadonlySet<string> {
  const failed = rows.filter((row) => row.finishedAt === null && row.rolledBackAt === null);
  if (failed.length > 0) {
    const names = failed.map((row) => row.migrationName).join(', ');
    throw new MigrationError(
      'MIGRATION_FAILED_ROW',
      `_prisma_migrations records failed migrations that were never resolved: ${names}. Repair the ` +
        'database by hand, then mark each one with `prisma migrate resolve --rolled-back <name>` ' +
        '(or `--applied`), or set its rolled_back_at, before migrating again.',
    );
  }

  const applied = rows.filter((row) => row.finishedAt !== null && row.rolledBackAt === null);
  const filesByName = new Map(files.map((file) => [file.name, file]));
  const edited: string[] = [];
  for (const row of applied) {
    const file = filesByName.get(row.migrationName);
    if (file === undefined) {
      // An older build migrating a newer database (e.g. during a rollback of the app): the
      // schema is ahead of this code, which Prisma tolerates too.
      logger.warn({ migration: row.migrationName }, 'applied migration not found in the migrations folder');
    } else if (!scriptMatchesChecksum(file.script, row.checksum)) {
      edited.push(`${row.migrationName} (recorded ${row.checksum}, file ${file.checksum})`);
    }
  }
  if (edited.length > 0) {
    throw new MigrationError(
      'MIGRATION_CHECKSUM_MISMATCH',
      `Applied migrations were modified after they ran: ${edited.join('; ')}. Restore the original ` +
        'migration.sql and put the change in a new migration.',
    );
  }
  return new Set(applied.map((row) => row.migrationName));
}

/** Applies one migration and its history row in a single transaction. */
async function applyMigration(client: Client, file: MigrationFile): Promise<void> {
  const row = { id: randomUUID(), migrationName: file.name, checksum: file.checksum };
  try {
    await client.query('BEGIN');
    // Simple-query protocol (no parameters): the whole file runs as one multi-statement script.
    await client.query(file.script);
    await recordAppliedMigration(client, row);
    await client.query('COMMIT');
  } catch (error) {
    const failure = new MigrationError(
      'MIGRATION_APPLY_FAILED',
      `Migration ${file.name} failed and was rolled back: ${errorText(error)}`,
      { cause: error },
    );
    try {
      await client.query('ROLLBACK');
      await recordRolledBackMigration(client, { ...row, logs: failure.message });
    } catch (recordError) {
      throw new MigrationError(
        'MIGRATION_APPLY_FAILED',
        `${failure.message} (recording the failure in _prisma_migrations failed too: ${errorText(recordError)})`,
        { cause: error },
      );
    }
    throw failure;
  }
}

/**
 * Applies the pending migrations of a Prisma-layout folder and records them in
 * `_prisma_migrations` as Prisma Migrate does, so `prisma migrate deploy` can take over later.
 *
 * Concurrent callers serialise on advisory lock `MIGRATION_LOCK_KEY`; the later ones find nothing
 * left to do. Each migration runs in its own transaction (so it must not use statements that
 * cannot, like CREATE INDEX CONCURRENTLY). Before applying anything the call refuses, with a
 * `MigrationError`, a database that holds an unresolved failed migration or an applied migration
 * whose file has changed since. Calling it on a current database changes nothing.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const logger = options.logger ?? silentLogger;
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 1) {
    throw new RangeError(`lockTimeoutMs must be a positive number of milliseconds, got ${lockTimeoutMs}`);
  }
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  // Read the files first: a broken checkout fails before it queues behind another migrator.
  const files = await readMigrationFiles(migrationsDir);

  const client = new Client({ connectionString: options.databaseUrl, application_name: 'concord-migrator' });
  // A connection dropped while idle is reported as an event; without a listener it would crash the
  // process. The statement in flight rejects with the same error, so logging it here loses nothing.
  client.on('error', (error) => logger.warn({ err: errorText(error) }, 'migrator connection error'));
  await client.connect();
  try {
    await acquireLock(client, lockTimeoutMs);
    await createMigrationsTable(client);
    const alreadyApplied = checkHistory(await readMigrationRows(client), files, logger);

    const applied: string[] = [];
    for (const file of files.filter((candidate) => !alreadyApplied.has(candidate.name))) {
      logger.info({ migration: file.name }, 'applying migration');
      await applyMigration(client, file);
      applied.push(file.name);
      logger.info({ migration: file.name }, 'applied migration');
    }
    if (applied.length === 0) {
      logger.info({ migrations: files.length }, 'database schema is up to date');
    }
    return { applied };
  } finally {
    // Closing the session releases the advisory lock, also when a statement above failed.
    await client.end();
  }
}
