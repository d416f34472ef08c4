import { AppError, type Role } from '@concord/common';
import type { Pool } from 'pg';
import type { UserRecord } from '../domain/auth.model';
import type { UserRepository } from '../domain/auth.ports';
import { inTransaction, isUniqueViolation, toPage } from './pg-helpers';

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

/** {@link UserRepository} over pg with parameterized SQL. */
export function createUserRepository(pool: Pool): UserRepository {
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
    async create(username, passwordHash, role) {
      try {
        const { rows } = await pool.query<UserRow>(
          `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
          [username, passwordHash, role],
        );
        return toUser(rows[0]!);
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('DUPLICATE_RECORD', 'That username is taken');
        throw err;
      }
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
    async list(limit, after) {
      const { rows } = await pool.query<UserRow>(
        `SELECT ${COLUMNS} FROM users
          WHERE ($1::timestamptz IS NULL OR (created_at, id) < ($1, $2::uuid))
          ORDER BY created_at DESC, id DESC LIMIT $3`,
        [after?.createdAt ?? null, after?.id ?? null, limit + 1],
      );
      return toPage(rows.map(toUser), limit);
    },
    async updatePasswordHash(id, passwordHash, changed) {
      await pool.query(
        `UPDATE users SET password_hash = $2,
           password_changed_at = CASE WHEN $3 THEN now() ELSE password_changed_at END
         WHERE id = $1`,
        [id, passwordHash, changed],
      );
    },
    async changeRole(id, role) {
      return inTransaction(pool, async (client) => {
        // Locking every ceo row makes "demote the last ceo" impossible under concurrency.
        const ceos = await client.query<{ id: string }>(`SELECT id FROM users WHERE role = 'ceo' FOR UPDATE`);
        const isCeo = ceos.rows.some((r) => r.id === id);
        if (isCeo && role !== 'ceo' && ceos.rows.length === 1) {
          throw new AppError('RESOURCE_CONFLICT', 'The last ceo cannot be demoted');
        }
        const { rows } = await client.query<UserRow>(
          `UPDATE users SET role = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, role],
        );
        return rows[0] ? toUser(rows[0]) : undefined;
      });
    },
  };
}
