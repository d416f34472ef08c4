import { randomBytes } from 'node:crypto';
import { createDatabase, dropDatabase } from './database-admin';
import { withDatabaseName } from './database-url';
import { migrate } from './migrator';

/** The local test server (DESIGN §2); any database name in it is replaced. */
export const DEFAULT_TEST_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Options of `createTestDatabase()`. */
export interface CreateTestDatabaseOptions {
  /** Apply this package's migrations (or `migrationsDir`'s) to the new database. Default false. */
  readonly migrate?: boolean;
  /** A URL of the server to create the database on; its database part is ignored. */
  readonly serverUrl?: string;
  /** Migrations to apply instead of this package's own. */
  readonly migrationsDir?: string;
}

/** A throw-away database owned by one test file. */
export interface TestDatabase {
  /** Connection URL of the new database. */
  readonly url: string;
  /** Its name, `concord_test_<16 hex digits>`. */
  readonly name: string;
  /** Drops it, closing any connection still open on it; safe to call twice. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database with a random name, migrated when asked, so that every test run owns
 * its data and parallel Jest workers never meet. Call `drop()` in `afterAll`.
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `concord_test_${randomBytes(8).toString('hex')}`;
  const url = withDatabaseName(options.serverUrl ?? DEFAULT_TEST_SERVER_URL, name);
  await createDatabase(url);
  const drop = () => dropDatabase(url);

  if (options.migrate === true) {
    try {
      await migrate({ databaseUrl: url, migrationsDir: options.migrationsDir });
    } catch (error) {
      // Do not leak the half-made database; if dropping fails as well, report both.
      try {
        await drop();
      } catch (dropError) {
        throw new AggregateError([error, dropError], `Migrating ${name} failed, and dropping it failed too`);
      }
      throw error;
    }
  }
  return { url, name, drop };
}
