import { Pool } from 'pg';
import type { Logger } from '../logging/logger';

/** Options of {@link createPgPool}. */
export interface PgPoolOptions {
  max?: number;
  /**
   * Client-side bound on one query. Without it a Postgres that stops answering (a partition, not a
   * refused connection) holds every request until TCP gives up; with it they fail as an outage
   * (503) and the timed-out connection is discarded.
   */
  queryTimeoutMs?: number;
}

/** A Postgres pool whose idle-client errors are logged instead of crashing the process. */
export function createPgPool(connectionString: string, logger: Logger, options: PgPoolOptions = {}): Pool {
  const pool = new Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
  });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle postgres client error'));
  return pool;
}
