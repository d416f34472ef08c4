import type { ClientBase } from 'pg';

// The bookkeeping table of Prisma Migrate, created exactly as Prisma's schema engine creates it
// (same name, columns, types, defaults and order), so that `prisma migrate deploy` and
// `prisma migrate status` read our rows as their own.
const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** One row of `_prisma_migrations`. */
export interface MigrationRow {
  readonly id: string;
  readonly checksum: string;
  readonly finishedAt: Date | null;
  readonly migrationName: string;
  readonly logs: string | null;
  readonly rolledBackAt: Date | null;
  readonly startedAt: Date;
  readonly appliedStepsCount: number;
}

interface RawMigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

/** Creates `_prisma_migrations` unless it exists. Call it holding the migration lock. */
export async function createMigrationsTable(client: ClientBase): Promise<void> {
  await client.query(CREATE_TABLE);
}

/** Every row, oldest first. */
export async function readMigrationRows(client: ClientBase): Promise<MigrationRow[]> {
  const result = await client.query<RawMigrationRow>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
       FROM "_prisma_migrations"
      ORDER BY started_at, migration_name`,
  );
  return result.rows.map((row) => ({
    id: row.id,
    checksum: row.checksum,
    finishedAt: row.finished_at,
    migrationName: row.migration_name,
    logs: row.logs,
    rolledBackAt: row.rolled_back_at,
    startedAt: row.started_at,
    appliedStepsCount: row.applied_steps_count,
  }));
}

/**
 * Records a migration as applied. Prisma writes a started row, runs the script as one step and
 * then sets finished_at and applied_steps_count = 1; the caller does all three inside the
 * migration's transaction, so the row exists only if the script committed.
 */
export async function recordAppliedMigration(
  client: ClientBase,
  row: { id: string; migrationName: string; checksum: string },
): Promise<void> {
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
    [row.id, row.checksum, row.migrationName],
  );
}

/**
 * Records a migration whose transaction failed and was rolled back. rolled_back_at is set because
 * nothing of it remains in the database: in Prisma's terms the row is resolved, so the next run
 * (ours or `prisma migrate deploy`) retries the migration instead of refusing to start, and the
 * error stays readable in `logs`.
 */
export async function recordRolledBackMigration(
  client: ClientBase,
  row: { id: string; migrationName: string; checksum: string; logs: string },
): Promise<void> {
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, rolled_back_at)
     VALUES ($1, $2, $3, $4, now(), now())`,
    [row.id, row.checksum, row.migrationName, row.logs],
  );
}
