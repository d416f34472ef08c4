import { inTransaction, toPage, type Role } from '@concord/common';
import type { Pool, PoolClient } from 'pg';
import type { RevocationReason, SessionRecord } from '../domain/auth.model';
import type { OpenResult, RevocationCommit, RotationResult, SessionRepository } from '../domain/auth.ports';
import { listCursorFields } from './list-cursor';
import { REVOCATION_TOPIC } from './revocation-outbox';

interface SessionRow {
  id: string;
  user_id: string;
  username: string;
  role: Role;
  ip_address: string | null;
  user_agent: string | null;
  created_at: Date;
  last_active_at: Date;
  expires_at: Date;
  access_expires_at: Date;
  revoked_at: Date | null;
  refresh_generation: number;
  /** The session's stamp equals its user's (decision 008). */
  stamp_current: boolean;
}

const SESSION_COLUMNS = `s.id, s.user_id, u.username, u.role, host(s.ip_address) AS ip_address, s.user_agent,
         s.created_at, s.last_active_at, s.expires_at, s.access_expires_at, s.revoked_at, s.refresh_generation,
         s.security_stamp = u.security_stamp AS stamp_current`;

const SELECT_SESSION = `SELECT ${SESSION_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id`;

// "Active": not revoked, inside the absolute lifetime, and used within the idle timeout.
const ACTIVE = `s.revoked_at IS NULL AND s.expires_at > $NOW AND s.last_active_at > $NOW - make_interval(secs => $IDLE)`;

function active(nowParam: number, idleParam: number): string {
  return ACTIVE.replaceAll('$NOW', `$${nowParam}::timestamptz`).replaceAll('$IDLE', `$${idleParam}::int`);
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    username: row.username,
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
    accessExpiresAt: row.access_expires_at,
    revokedAt: row.revoked_at,
  };
}

// A stale stamp ends the session at refresh even if no revocation reached it (decision 008).
function isActive(row: SessionRow, now: Date, idleSeconds: number): boolean {
  return (
    row.revoked_at === null &&
    row.stamp_current &&
    row.expires_at > now &&
    row.last_active_at.getTime() > now.getTime() - idleSeconds * 1000
  );
}

// Revoked, or its user's credentials changed since it was stamped: answered as revoked (1002).
function endedByCredentials(row: SessionRow | undefined): boolean {
  return row !== undefined && (row.revoked_at !== null || !row.stamp_current);
}

async function lockSession(client: PoolClient, id: string): Promise<SessionRow | undefined> {
  const { rows } = await client.query<SessionRow>(`${SELECT_SESSION} WHERE s.id = $1 FOR UPDATE OF s`, [id]);
  return rows[0];
}

/** Records activity on a locked session and returns the updated row (one statement, no re-read). */
async function touch(
  client: PoolClient,
  id: string,
  now: Date,
  accessExpiresAt: Date,
  generation?: number,
): Promise<SessionRow> {
  const { rows } = await client.query<SessionRow>(
    `UPDATE sessions s SET last_active_at = $2,
            access_expires_at = greatest(s.access_expires_at, least($3, s.expires_at)),
            refresh_generation = coalesce($4, s.refresh_generation)
       FROM users u
      WHERE s.id = $1 AND u.id = s.user_id
  RETURNING ${SESSION_COLUMNS}`,
    [id, now, accessExpiresAt, generation ?? null],
  );
  return rows[0]!;
}

/**
 * Marks sessions revoked (idempotent) and enqueues the revocation in the outbox, in one statement:
 * atomic on its own (a logout: one round trip, no BEGIN/COMMIT) and part of the caller's transaction
 * when `db` is a client inside one (password and role changes, revoke-all, the restore fixup). Every
 * path that revokes sessions goes through here, so whatever the commit of a revocation must also
 * record is written in one place. Sessions revoked earlier are part of the result again (their
 * tokens may still be alive), so a retried revoke publishes them again. No entries, no outbox row.
 */
export async function revokeSessions(
  db: Pool | PoolClient,
  ids: string[],
  reason: RevocationReason,
  now: Date,
): Promise<RevocationCommit> {
  const { rows } = await db.query<{
    id: string;
    access_expires_at: Date;
    fresh: boolean;
    outbox_ids: string[] | null;
  }>(
    `WITH old AS (SELECT id, revoked_at FROM sessions WHERE id = ANY($1::uuid[]) FOR UPDATE),
     upd AS (
       UPDATE sessions s
          SET revoked_at = coalesce(old.revoked_at, $3), revoked_reason = coalesce(s.revoked_reason, $2)
         FROM old WHERE s.id = old.id
       RETURNING s.id, s.access_expires_at, old.revoked_at IS NULL AS fresh),
     queued AS (
       INSERT INTO outbox (topic, payload)
       SELECT $4, jsonb_build_object(
                'entries', jsonb_agg(jsonb_build_object(
                  'sid', id, 'exp', ceil(extract(epoch FROM access_expires_at))::bigint)),
                'reason', $2::text)
         FROM upd HAVING count(*) > 0
       RETURNING id)
     SELECT upd.id, upd.access_expires_at, upd.fresh, (SELECT array_agg(id::text) FROM queued) AS outbox_ids
       FROM upd`,
    [ids, reason, now, REVOCATION_TOPIC],
  );
  return {
    entries: rows.map((r) => ({ sid: r.id, exp: Math.ceil(r.access_expires_at.getTime() / 1000) })),
    newlyRevoked: rows.filter((r) => r.fresh).length,
    outboxIds: rows[0]?.outbox_ids ?? [],
    reason,
  };
}

/**
 * Ids of a user's live sessions (optionally but one), inside the caller's transaction. Also those
 * past their idle timeout whose last access token may still be alive: revoking a user must reach
 * every token that could still be accepted.
 */
export async function liveSessionIdsInTransaction(
  client: PoolClient,
  input: { userId: string; now: Date; idleTimeoutSeconds: number; exceptId?: string },
): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT s.id FROM sessions s
      WHERE s.user_id = $3 AND ($4::uuid IS NULL OR s.id <> $4)
        -- 60 s is the largest JWT_CLOCK_TOLERANCE_SECONDS allowed, so this never misses a live token.
        AND (${active(1, 2)} OR (s.revoked_at IS NULL AND s.access_expires_at > $1::timestamptz - interval '60 seconds'))`,
    [input.now, input.idleTimeoutSeconds, input.userId, input.exceptId ?? null],
  );
  return rows.map((r) => r.id);
}

/** {@link SessionRepository} over pg with parameterized SQL (hot path: no ORM). */
export function createSessionRepository(pool: Pool): SessionRepository {
  return {
    async openVerified(s, verified): Promise<OpenResult> {
      return inTransaction(pool, async (client) => {
        // FOR SHARE: a password change, role change or revoke-all (which all UPDATE this row) either
        // committed before this read, and the stamp or hash differs, or waits for this commit, and
        // then finds and revokes the session inserted here. Either way no session opened with old
        // credentials or an old role outlives the change (decision 008).
        const { rows: users } = await client.query<{ password_hash: string; security_stamp: string }>(
          'SELECT password_hash, security_stamp FROM users WHERE id = $1 FOR SHARE',
          [s.userId],
        );
        const user = users[0];
        if (
          !user ||
          user.password_hash !== verified.passwordHash ||
          user.security_stamp !== verified.securityStamp
        ) {
          const current = user
            ? { passwordHash: user.password_hash, securityStamp: user.security_stamp }
            : undefined;
          return { kind: 'stale', current };
        }
        await client.query(
          `INSERT INTO sessions (id, user_id, ip_address, user_agent, created_at, last_active_at, expires_at,
                                 access_expires_at, refresh_generation, security_stamp)
           VALUES ($1, $2, $3::inet, $4, $5, $5, $6, $7, 1, $8)`,
          [
            s.id,
            s.userId,
            s.ipAddress,
            s.userAgent,
            s.now,
            s.expiresAt,
            s.accessExpiresAt,
            verified.securityStamp,
          ],
        );
        await client.query(
          `INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) VALUES ($1, $2, 1, $3)`,
          [s.refreshTokenHash, s.id, s.now],
        );
        await client.query(
          `INSERT INTO known_login_addresses (user_id, address, last_login_at) VALUES ($1, $2::inet, $3)
           ON CONFLICT (user_id, address) DO UPDATE
             SET last_login_at = greatest(known_login_addresses.last_login_at, excluded.last_login_at)`,
          [s.userId, s.addressBucket, s.now],
        );
        const { rows } = await client.query<SessionRow>(`${SELECT_SESSION} WHERE s.id = $1`, [s.id]);
        return { kind: 'opened', session: toSession(rows[0]!), role: rows[0]!.role };
      });
    },

    async rotate(input): Promise<RotationResult> {
      return inTransaction(pool, async (client) => {
        // The compare-and-set on consumed_at is the rotation: of two concurrent presentations exactly
        // one consumes the token; the other waits for its commit and takes the grace/reuse branch.
        const consumed = await client.query<{ session_id: string; generation: number }>(
          `UPDATE refresh_tokens SET consumed_at = $2 WHERE token_hash = $1 AND consumed_at IS NULL
           RETURNING session_id, generation`,
          [input.tokenHash, input.now],
        );
        const fresh = consumed.rows[0];
        if (fresh) {
          const row = await lockSession(client, fresh.session_id);
          if (!row || !isActive(row, input.now, input.idleTimeoutSeconds)) {
            return { kind: 'inactive', revoked: endedByCredentials(row) };
          }
          const generation = fresh.generation + 1;
          await client.query(
            `INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) VALUES ($1, $2, $3, $4)`,
            [input.childHash, row.id, generation, input.now],
          );
          const updated = await touch(client, row.id, input.now, input.accessExpiresAt, generation);
          return { kind: 'rotated', session: toSession(updated), role: updated.role, generation };
        }
        const { rows } = await client.query<{ session_id: string; generation: number; consumed_at: Date }>(
          `SELECT session_id, generation, consumed_at FROM refresh_tokens WHERE token_hash = $1`,
          [input.tokenHash],
        );
        const old = rows[0];
        if (!old) return { kind: 'unknown' };
        const row = await lockSession(client, old.session_id);
        if (!row || !isActive(row, input.now, input.idleTimeoutSeconds)) {
          return { kind: 'inactive', revoked: endedByCredentials(row) };
        }
        const withinGrace = old.consumed_at.getTime() > input.now.getTime() - input.graceSeconds * 1000;
        if (withinGrace && row.refresh_generation === old.generation + 1) {
          const updated = await touch(client, row.id, input.now, input.accessExpiresAt);
          return {
            kind: 'grace',
            session: toSession(updated),
            role: updated.role,
            generation: row.refresh_generation,
          };
        }
        return { kind: 'reuse', sessionId: row.id };
      });
    },

    async findSessionIdByRefreshHash(tokenHash) {
      const { rows } = await pool.query<{ session_id: string }>(
        'SELECT session_id FROM refresh_tokens WHERE token_hash = $1',
        [tokenHash],
      );
      return rows[0]?.session_id;
    },

    async findById(id) {
      const { rows } = await pool.query<SessionRow>(`${SELECT_SESSION} WHERE s.id = $1`, [id]);
      return rows[0] ? toSession(rows[0]) : undefined;
    },

    async findActive(id, now, idle) {
      const { rows } = await pool.query<SessionRow>(`${SELECT_SESSION} WHERE s.id = $1 AND ${active(2, 3)}`, [
        id,
        now,
        idle,
      ]);
      return rows[0] ? toSession(rows[0]) : undefined;
    },

    async listActive(filter, now, idle, limit, after) {
      const { rows } = await pool.query<SessionRow>(
        `${SELECT_SESSION}
          WHERE ${active(1, 2)}
            AND ($3::uuid IS NULL OR s.user_id = $3)
            AND ($4::timestamptz IS NULL OR (s.created_at, s.id) < ($4, $5::uuid))
          ORDER BY s.created_at DESC, s.id DESC LIMIT $6`,
        [now, idle, filter.userId ?? null, after?.createdAt ?? null, after?.id ?? null, limit + 1],
      );
      return toPage(rows.map(toSession), limit, listCursorFields);
    },

    async revoke(ids, reason, now) {
      return revokeSessions(pool, ids, reason, now);
    },

    async revokedSince(minAccessExpiry) {
      const { rows } = await pool.query<{ id: string; access_expires_at: Date }>(
        `SELECT id, access_expires_at FROM sessions WHERE revoked_at IS NOT NULL AND access_expires_at >= $1`,
        [minAccessExpiry],
      );
      return rows.map((r) => ({ sid: r.id, exp: Math.ceil(r.access_expires_at.getTime() / 1000) }));
    },

    async purge(before, idle, now) {
      const { rowCount } = await pool.query(
        `DELETE FROM sessions
          WHERE (revoked_at < $1 OR expires_at < $1 OR last_active_at < $1::timestamptz - make_interval(secs => $2::int))
            -- never drop a row whose access token could still be alive: it is the re-seed source
            AND access_expires_at < $3::timestamptz - interval '5 minutes'`,
        [before, idle, now],
      );
      return rowCount ?? 0;
    },
  };
}
