import { Pool } from 'pg';
import { createPrismaClient } from '../src/prisma-client';
import { createTestDatabase, type TestDatabase } from '../src/test-database';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await database.drop();
});

describe('createPrismaClient', () => {
  it('given a pool, reads and writes the migrated tables through it and leaves the pool open', async () => {
    const pool = new Pool({ connectionString: database.url, max: 2 });
    const prisma = createPrismaClient(pool);
    try {
      const user = await prisma.user.create({
        data: { username: 'grace', passwordHash: 'hash', role: 'manager' },
      });
      const session = await prisma.session.create({
        data: {
          userId: user.id,
          ipAddress: '203.0.113.7',
          expiresAt: new Date(Date.now() + 3_600_000),
          accessExpiresAt: new Date(Date.now() + 900_000),
          securityStamp: user.securityStamp,
        },
      });

      const found = await prisma.user.findUniqueOrThrow({
        where: { id: user.id },
        include: { sessions: true },
      });
      expect(found).toMatchObject({ username: 'grace', role: 'manager', sessions: [{ id: session.id }] });
      expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(session.refreshGeneration).toBe(0);

      await prisma.$disconnect();
      const raw = await pool.query<{ username: string }>('SELECT username FROM users WHERE id = $1', [
        user.id,
      ]);
      expect(raw.rows).toEqual([{ username: 'grace' }]);
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }
  });

  it('given a connection string, owns its pool and runs queries', async () => {
    const prisma = createPrismaClient(database.url);
    try {
      const [row] = await prisma.$queryRaw<{ db: string }[]>`SELECT current_database() AS db`;

      expect(row?.db).toBe(database.name);
      await expect(prisma.refreshToken.count()).resolves.toBe(0);
    } finally {
      await prisma.$disconnect();
    }
  });
});
