import { createHash } from 'node:crypto';

/**
 * The checksum Prisma Migrate records for a migration: the lower-case hex SHA-256 of the bytes of
 * migration.sql, unnormalised.
 */
export function migrationChecksum(script: string | Buffer): string {
  return createHash('sha256').update(script).digest('hex');
}

/**
 * Whether `script` is the one a recorded `checksum` was computed from. Like Prisma's schema engine
 * this also accepts the script with its line endings switched between LF and CRLF, because git
 * checkouts on Windows rewrite them and that must not count as an edited migration.
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => migrationChecksum(Buffer.from(variant, 'utf8')) === checksum);
}
