// Throw-away copies of prisma/migrations that a test may edit (append a migration, change a file)
// without touching the real folder.
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_MIGRATIONS_DIR } from '../src/migrator';

/** A private copy of the package's migrations folder. */
export interface MigrationsFixture {
  readonly dir: string;
  /** Names of the migrations in the copy, in order. */
  names(): Promise<string[]>;
  /** Adds (or replaces) `<name>/migration.sql`. */
  write(name: string, sql: string): Promise<string>;
  remove(): Promise<void>;
}

/** Copies the real migrations into a new temporary folder. */
export async function copyMigrations(): Promise<MigrationsFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'concord-migrations-'));
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return {
    dir,
    names: async () =>
      (await readdir(dir, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort(),
    write: async (name, sql) => {
      await mkdir(path.join(dir, name), { recursive: true });
      const file = path.join(dir, name, 'migration.sql');
      await writeFile(file, sql);
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
