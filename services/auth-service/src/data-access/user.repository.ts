import type { Role } from '@concord/common';
import type { Pool } from 'pg';
import type { UserRecord } from '../domain/auth.model';
import type { UserRepository } from '../domain/auth.ports';
import { inTransaction } from './pg-helpers';

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_at: Date;
  password_changed_at: Date;
}

const COLUMNS = 'id, username, password_hash, role, created_at, password_changed_at';

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    role: row.role,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
  };
}

// Serialises setup attempts across every replica; the key is arbitrary but fixed.
const SETUP_LOCK_KEY = 0x636f6e63; // "conc"

/** The login-path half of {@link UserRepository} over pg (setup, lookups, password hashes). */
export function createUserRepository(pool: Pool): Omit<UserRepository, 'create' | 'list' | 'changeRole'> {
  return {
    async createFirst(username, passwordHash) {
      return inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SETUP_LOCK_KEY]);
        const existing = await client.query('SELECT 1 FROM users LIMIT 1');
        if (existing.rowCount) return undefined;
        const { rows } = await client.query<UserRow>(
          `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'ceo') RETURNING ${COLUMNS}`,
          [username, passwordHash],
        );
        return toUser(rows[0]!);
      });
    },
    async findByUsername(username) {
      const { rows } = await pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [
        username,
      ]);
      return rows[0] ? toUser(rows[0]) : undefined;
    },
    async findById(id) {
      const { rows } = await pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
      return rows[0] ? toUser(rows[0]) : undefined;
    },
    async updatePasswordHash(id, passwordHash, changed) {
      await pool.query(
        `UPDATE users SET password_hash = $2,
           password_changed_at = CASE WHEN $3 THEN now() ELSE password_changed_at END
         WHERE id = $1`,
        [id, passwordHash, changed],
      );
    },
  };
}
