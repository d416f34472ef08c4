import { inTransaction } from '@concord/common';
import type { Pool } from 'pg';
import type { RevocationCommit } from '../domain/auth.ports';
import { revokeSessions } from './session.repository';

/** Input of {@link applyRestoreFixup}. */
export interface RestoreFixupInput {
  /**
   * When the restore finished. Every session created at or before it came from the dump (or from
   * before the outage) and is ended; a session created after it is a login since the restore and
   * is kept, so running the fixup again with the same instant changes nothing (idempotent).
   */
  restoredAt: Date;
  /**
   * `JWT_MAX_ACCESS_TTL_SECONDS`: verifiers refuse a token with a longer life, so no token issued
   * before `restoredAt` outlives `restoredAt` plus this.
   */
  maxAccessTtlSeconds: number;
  now: Date;
}

/** What {@link applyRestoreFixup} committed. */
export interface RestoreFixupResult {
  /** Users that got a new security stamp. */
  stampsChanged: number;
  /** Sessions this run revoked (they were live in the restored database). */
  newlyRevoked: number;
  /** Revocation entries written to the outbox (live and earlier-revoked sessions whose tokens may be alive). */
  commit: RevocationCommit;
}

/**
 * After a restore from a backup (docs/decisions/017-restore-fixup.md), in one transaction:
 *
 * 1. every user gets a new security stamp, and only sessions opened after `restoredAt` are
 *    re-stamped, so refresh refuses every restored session (decision 008) and a second run keeps the
 *    logins made since the first;
 * 2. every session from before `restoredAt` whose tokens may still be alive gets
 *    `access_expires_at` of at least `min(expires_at, restoredAt + maxAccessTtl)`: the dump's value
 *    predates tokens issued after the backup, and it is what the revocation entry and every later
 *    re-seed keep the session refused until;
 * 3. those sessions are revoked through {@link revokeSessions} (reason `restore`),
 *    which enqueues their entries in the outbox, so a running relay delivers them like any revoke.
 */
export async function applyRestoreFixup(pool: Pool, input: RestoreFixupInput): Promise<RestoreFixupResult> {
  return inTransaction(pool, async (client) => {
    const stamps = await client.query(
      `WITH old AS (SELECT id, security_stamp FROM users FOR UPDATE),
            stamped AS (
              UPDATE users u SET security_stamp = gen_random_uuid() FROM old WHERE u.id = old.id
           RETURNING u.id, u.security_stamp AS stamp, old.security_stamp AS old_stamp),
            kept AS (
              UPDATE sessions s SET security_stamp = stamped.stamp FROM stamped
               WHERE s.user_id = stamped.id AND s.security_stamp = stamped.old_stamp
                 AND s.created_at > $1 AND s.revoked_at IS NULL
           RETURNING s.id)
       SELECT (SELECT count(*) FROM stamped)::int AS stamped, (SELECT count(*) FROM kept)::int AS kept`,
      [input.restoredAt],
    );
    const { rows } = await client.query<{ id: string }>(
      `UPDATE sessions
          SET access_expires_at = greatest(access_expires_at,
                least(expires_at, $1::timestamptz + make_interval(secs => $2::int)))
        WHERE created_at <= $1
          AND least(expires_at, $1::timestamptz + make_interval(secs => $2::int)) > $3
    RETURNING id`,
      [input.restoredAt, input.maxAccessTtlSeconds, input.now],
    );
    const commit = await revokeSessions(
      client,
      rows.map((r) => r.id),
      'restore',
      input.now,
    );
    return {
      stampsChanged: (stamps.rows[0] as { stamped: number }).stamped,
      newlyRevoked: commit.newlyRevoked,
      commit,
    };
  });
}
