import { inTransaction, type Role } from '@concord/common';
import type { Pool } from 'pg';
import type { UserRecord } from '../domain/auth.model';
import type { UserRepository } from '../domain/auth.ports';

/** A users row as the pg repositories select it. */
export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_at: Date;
  password_changed_at: Date;
  security_stamp: string;
}

/** The columns of {@link UserRow}. */
export const USER_COLUMNS =
  'id, username, password_hash, role, created_at, password_changed_at, security_stamp';

/** Maps a {@link UserRow}. */
export function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    role: row.role,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
    securityStamp: row.security_stamp,
  };
}

// Serialises setup attempts across every replica; the key is arbitrary but fixed.
const SETUP_LOCK_KEY = 0x636f6e63; // "conc"

/** The login-path half of {@link UserRepository} over pg (setup, lookups, rehash, known addresses). */
export function createUserRepository(pool: Pool): Omit<UserRepository, 'create' | 'list'> {
  return {
    async createFirst(username, passwordHash) {
      return inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SETUP_LOCK_KEY]);
        const existing = await client.query('SELECT 1 FROM users LIMIT 1');
        if (existing.rowCount) return undefined;
        const { rows } = await client.query<UserRow>(
          `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'ceo') RETURNING ${USER_COLUMNS}`,
          [username, passwordHash],
        );
        return toUser(rows[0]!);
      });
    },
    async findById(id) {
      const { rows } = await pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
      return rows[0] ? toUser(rows[0]) : undefined;
    },
    async findForCredentialCheck(by, address, knownSince) {
      const [column, value] = 'id' in by ? ['id', by.id] : ['username', by.username];
      const { rows } = await pool.query<UserRow & { known_address: boolean }>(
        `SELECT ${USER_COLUMNS},
                EXISTS (SELECT 1 FROM known_login_addresses k
                         WHERE k.user_id = users.id AND k.address = $2::inet AND k.last_login_at > $3)
                  AS known_address
           FROM users WHERE ${column} = $1`,
        [value, address, knownSince],
      );
      const row = rows[0];
      return row ? { user: toUser(row), knownAddress: row.known_address } : undefined;
    },
    async rehash(id, oldHash, newHash) {
      const { rowCount } = await pool.query(
        'UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2',
        [id, oldHash, newHash],
      );
      return rowCount === 1;
    },
    async forgetAddressesBefore(before) {
      const { rowCount } = await pool.query('DELETE FROM known_login_addresses WHERE last_login_at < $1', [
        before,
      ]);
      return rowCount ?? 0;
    },
  };
}
