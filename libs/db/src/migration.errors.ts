/**
 * Stable codes of the ways a migration run can stop. Operators and the migrate Job's logs key on
 * these, so they never change meaning; the messages may improve.
 */
export type MigrationErrorCode =
  /** The migrations folder is missing, unreadable, or a migration folder has no migration.sql. */
  | 'MIGRATIONS_DIR_INVALID'
  /** A migration recorded as applied no longer has the content it was applied with. */
  | 'MIGRATION_CHECKSUM_MISMATCH'
  /** `_prisma_migrations` holds a failed, unresolved row (finished_at and rolled_back_at NULL). */
  | 'MIGRATION_FAILED_ROW'
  /** A pending migration's SQL failed; its transaction was rolled back. */
  | 'MIGRATION_APPLY_FAILED'
  /** Another migrator held the advisory lock for longer than the configured wait. */
  | 'MIGRATION_LOCK_TIMEOUT';

/**
 * Thrown by `migrate()` when it refuses to run or a migration fails. Messages name migrations and
 * files, never connection URLs (they may carry a password).
 */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';

  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
