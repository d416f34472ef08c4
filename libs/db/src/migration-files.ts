import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { migrationChecksum } from './migration-checksum';
import { MigrationError } from './migration.errors';

/** One migration as found on disk, in Prisma's layout: `<migrations>/<name>/migration.sql`. */
export interface MigrationFile {
  /** The folder name, e.g. `20261124000000_init`; also the `migration_name` recorded for it. */
  readonly name: string;
  /** The SQL text, applied as one script. */
  readonly script: string;
  /** See `migrationChecksum`. */
  readonly checksum: string;
}

const SCRIPT_FILE = 'migration.sql';
const LOCK_FILE = 'migration_lock.toml';

async function readOrFail(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new MigrationError('MIGRATIONS_DIR_INVALID', `Cannot read ${what} ${file}`, { cause: error });
  }
}

/**
 * Refuses a migrations folder that Prisma created for another database: its SQL would not run
 * here, and `prisma migrate deploy` would refuse it too (P3019).
 */
async function checkLockFile(migrationsDir: string, entries: readonly string[]): Promise<void> {
  if (!entries.includes(LOCK_FILE)) {
    return;
  }
  const file = path.join(migrationsDir, LOCK_FILE);
  const text = (await readOrFail(file, 'the lock file')).toString('utf8');
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(text)?.[1];
  if (provider !== 'postgresql') {
    throw new MigrationError(
      'MIGRATIONS_DIR_INVALID',
      `${file} declares provider "${provider ?? '(none)'}"; this migrator applies only "postgresql"`,
    );
  }
}

/**
 * Reads every migration under `migrationsDir`, ordered by folder name as Prisma orders them
 * (the timestamp prefix makes that chronological). Plain files beside the folders are ignored.
 */
export async function readMigrationFiles(migrationsDir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationError('MIGRATIONS_DIR_INVALID', `Cannot read the migrations folder ${migrationsDir}`, {
      cause: error,
    });
  }
  await checkLockFile(
    migrationsDir,
    entries.filter((entry) => entry.isFile()).map((entry) => entry.name),
  );

  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    const bytes = await readOrFail(path.join(migrationsDir, name, SCRIPT_FILE), 'the migration script');
    migrations.push({ name, script: bytes.toString('utf8'), checksum: migrationChecksum(bytes) });
  }
  return migrations;
}
