// Public API of @concord/db: the migrator and its CLI pieces, the Prisma Client factory and the
// generated model types, and the throw-away database helper for other packages' tests.

export { ensureDatabase } from './database-admin';
export { migrationChecksum } from './migration-checksum';
export { MigrationError, type MigrationErrorCode } from './migration.errors';
export {
  DEFAULT_MIGRATIONS_DIR,
  MIGRATION_LOCK_KEY,
  migrate,
  type MigrateOptions,
  type MigrateResult,
  type MigrationLogger,
} from './migrator';
export { createPrismaClient, type PrismaClientOptions } from './prisma-client';
export {
  createTestDatabase,
  DEFAULT_TEST_SERVER_URL,
  type CreateTestDatabaseOptions,
  type TestDatabase,
} from './test-database';

/**
 * The generated Prisma Client class and namespace (schema.prisma, generated at build time into
 * `generated/prisma`), and the row types of its models.
 */
export { Prisma, PrismaClient, type RefreshToken, type Session, type User } from '../generated/prisma/client';
