import { PrismaPg } from '@prisma/adapter-pg';
import type { Pool, PoolConfig } from 'pg';
import { PrismaClient } from '../generated/prisma/client';

/** Options of `createPrismaClient()`. */
export interface PrismaClientOptions {
  /** Postgres schema the queries name; defaults to the connection's search_path (public). */
  readonly schema?: string;
}

/**
 * A Prisma Client over node-postgres through `@prisma/adapter-pg` (Prisma 7 has no built-in
 * driver). Meant for the admin CRUD; the hot paths (token refresh, revocation) use pg directly.
 *
 * Given a `Pool`, the client borrows it: `$disconnect()` leaves it open and its owner ends it, so
 * one pool can serve raw queries and Prisma alike. Given a connection string or pool config, the
 * client creates and owns its pool, and `$disconnect()` closes it.
 */
export function createPrismaClient(
  source: Pool | PoolConfig | string,
  options: PrismaClientOptions = {},
): PrismaClient {
  const adapter = new PrismaPg(source, options.schema === undefined ? undefined : { schema: options.schema });
  return new PrismaClient({ adapter });
}
