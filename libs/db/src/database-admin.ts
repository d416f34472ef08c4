import { Client, escapeIdentifier } from 'pg';
import { databaseNameOf, withDatabaseName } from './database-url';

/**
 * The maintenance database every PostgreSQL server has; CREATE/DROP DATABASE must run while
 * connected to some other database than the one they act on.
 */
const MAINTENANCE_DATABASE = 'postgres';

// SQLSTATEs of the two ways a concurrent CREATE DATABASE of the same name can lose the race:
// duplicate_database when the other one committed first, unique_violation on
// pg_database_datname_index when both were in flight at once.
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

/** Runs `work` on a short-lived connection to the maintenance database of `databaseUrl`'s server. */
async function withMaintenanceClient<T>(
  databaseUrl: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ connectionString: withDatabaseName(databaseUrl, MAINTENANCE_DATABASE) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function sqlStateOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * Creates the database `databaseUrl` points at when it does not exist yet (DESIGN §2: "created if
 * missing"). Safe to call from several processes at once: losing the creation race counts as
 * success.
 *
 * @returns whether this call created the database.
 */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const name = databaseNameOf(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount !== 0) {
      return { created: false };
    }
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
      return { created: true };
    } catch (error) {
      const sqlState = sqlStateOf(error);
      if (sqlState === DUPLICATE_DATABASE || sqlState === UNIQUE_VIOLATION) {
        return { created: false };
      }
      throw error;
    }
  });
}

/**
 * Creates the database `databaseUrl` points at; fails when it already exists.
 */
export async function createDatabase(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
  });
}

/**
 * Drops the database `databaseUrl` points at, if it exists. `WITH (FORCE)` (PostgreSQL 13+)
 * terminates the connections still open on it, e.g. a pool a failed test did not close.
 */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
  });
}
