import { AppError, toPage, type Role } from '@concord/common';
import { Prisma, type PrismaClient, type User } from '@concord/db';
import type { UserRecord } from '../domain/auth.model';
import type { UserRepository } from '../domain/auth.ports';
import { listCursorFields } from './list-cursor';

function toUser(row: User): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.passwordHash,
    role: row.role as Role,
    createdAt: row.createdAt,
    passwordChangedAt: row.passwordChangedAt,
    securityStamp: row.securityStamp,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/**
 * The admin CRUD on users through Prisma Client (the model of record's own client). Login, token
 * and revocation paths stay on raw pg: a Prisma query costs about four times as much here, and the
 * credential changes must revoke sessions in their own pg transaction (credential.repository.ts).
 */
export function createUserAdminRepository(prisma: PrismaClient): Pick<UserRepository, 'create' | 'list'> {
  return {
    async create(username, passwordHash, role) {
      try {
        return toUser(await prisma.user.create({ data: { username, passwordHash, role } }));
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('DUPLICATE_RECORD', 'That username is taken');
        throw err;
      }
    },

    async list(limit, after) {
      const rows = await prisma.user.findMany({
        where: after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, id: { lt: after.id } },
              ],
            }
          : undefined,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      });
      return toPage(rows.map(toUser), limit, listCursorFields);
    },
  };
}
