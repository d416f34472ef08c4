import { AppError, inTransaction } from '@concord/common';
import type { Pool, PoolClient } from 'pg';
import type { CredentialRepository, RevocationCommit } from '../domain/auth.ports';
import type { RevocationReason } from '../domain/auth.model';
import { liveSessionIdsInTransaction, revokeSessions } from './session.repository';
import { toUser, USER_COLUMNS, type UserRow } from './user.repository';

/**
 * Ends the user's sessions inside a transaction that has just given the user a new stamp: the kept
 * session (the caller's own) is re-stamped and stays, every other live one and `alsoRevoke` are
 * revoked. The session list is read after the users UPDATE, so it includes every session a racing
 * login committed while holding its FOR SHARE lock (decision 008).
 */
async function endSessions(
  client: PoolClient,
  input: {
    userId: string;
    stamp: string;
    keepSessionId?: string;
    alsoRevoke?: string[];
    reason: RevocationReason;
    now: Date;
    idleTimeoutSeconds: number;
  },
): Promise<RevocationCommit> {
  if (input.keepSessionId) {
    await client.query('UPDATE sessions SET security_stamp = $3 WHERE id = $1 AND user_id = $2', [
      input.keepSessionId,
      input.userId,
      input.stamp,
    ]);
  }
  const live = await liveSessionIdsInTransaction(client, { ...input, exceptId: input.keepSessionId });
  const ids = [...new Set([...live, ...(input.alsoRevoke ?? [])])];
  return revokeSessions(client, ids, input.reason, input.now);
}

/** {@link CredentialRepository} over pg: stamp change and revocations in one transaction. */
export function createCredentialRepository(pool: Pool): CredentialRepository {
  return {
    async changePassword(input) {
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ security_stamp: string }>(
          `UPDATE users SET password_hash = $3, password_changed_at = $4, security_stamp = gen_random_uuid()
            WHERE id = $1 AND security_stamp = $2
        RETURNING security_stamp`,
          [input.userId, input.expectedStamp, input.newHash, input.now],
        );
        const stamp = rows[0]?.security_stamp;
        if (!stamp) return undefined;
        return endSessions(client, { ...input, stamp, reason: 'password_change' });
      });
    },

    async changeRole(input) {
      return inTransaction(pool, async (client) => {
        // Locking every ceo row makes "demote the last ceo" impossible under concurrency.
        const ceos = await client.query<{ id: string }>(`SELECT id FROM users WHERE role = 'ceo' FOR UPDATE`);
        if (input.role !== 'ceo' && ceos.rows.length === 1 && ceos.rows[0]!.id === input.userId) {
          throw new AppError('RESOURCE_CONFLICT', 'The last ceo cannot be demoted');
        }
        const changed = await client.query<UserRow>(
          `UPDATE users SET role = $2, security_stamp = gen_random_uuid() WHERE id = $1 AND role <> $2
        RETURNING ${USER_COLUMNS}`,
          [input.userId, input.role],
        );
        const row = changed.rows[0];
        if (!row) {
          const same = await client.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [
            input.userId,
          ]);
          if (!same.rows[0]) return undefined;
          return { user: toUser(same.rows[0]), commit: { entries: [], newlyRevoked: 0, outboxIds: [] } };
        }
        const commit = await endSessions(client, {
          ...input,
          stamp: row.security_stamp,
          reason: 'role_change',
        });
        return { user: toUser(row), commit };
      });
    },

    async revokeAll(input) {
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ security_stamp: string }>(
          'UPDATE users SET security_stamp = gen_random_uuid() WHERE id = $1 RETURNING security_stamp',
          [input.userId],
        );
        const stamp = rows[0]?.security_stamp;
        if (!stamp) return undefined;
        return endSessions(client, { ...input, stamp });
      });
    },
  };
}
