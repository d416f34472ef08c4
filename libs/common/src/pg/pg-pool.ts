import { Pool } from 'pg';
import type { Logger } from '../logging/logger';

/** A Postgres pool whose idle-client errors are logged instead of crashing the process. */
export function createPgPool(connectionString: string, logger: Logger, max = 10): Pool {
  const pool = new Pool({ connectionString, max, connectionTimeoutMillis: 3_000, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle postgres client error'));
  return pool;
}
