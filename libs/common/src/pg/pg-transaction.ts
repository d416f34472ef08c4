import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` in a transaction on one pooled connection, rolling back on any error (which is
 * rethrown). The connection is destroyed instead of returned when it broke or could not roll back.
 *
 * pg-pool listens for errors only on idle clients: a checked-out client whose connection drops
 * between two statements (a failover, `pg_terminate_backend`, a restart) emits 'error', and with no
 * listener that ends the process. The listener here keeps the process alive, and the connection's
 * own error is what the caller gets — "Connection terminated unexpectedly", an outage (503) — rather
 * than the next statement's "Client has encountered a connection error and is not queryable", which
 * names no cause and would be a 500.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let connectionError: Error | undefined;
  let broken: Error | undefined;
  const onError = (err: Error) => {
    connectionError ??= err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (connectionError) {
      broken = connectionError;
      throw connectionError;
    }
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection is unusable: destroy it. The original error is the one worth reporting.
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken ?? connectionError);
  }
}
