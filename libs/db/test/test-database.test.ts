import { Client } from 'pg';
import { createTestDatabase } from '../src/test-database';

async function databaseExists(name: string): Promise<boolean> {
  const client = new Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('creates an empty database with a random concord_test_ name, and drop() removes it', async () => {
    const database = await createTestDatabase();
    try {
      expect(database.name).toMatch(/^concord_test_[0-9a-f]{16}$/);
      expect(database.url).toBe(`postgresql://postgres@127.0.0.1:5432/${database.name}`);
      expect(await databaseExists(database.name)).toBe(true);
      const client = new Client({ connectionString: database.url });
      await client.connect();
      const tables = await client.query(
        "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
      );
      await client.end();
      expect(tables.rows[0].n).toBe(0);
    } finally {
      await database.drop();
    }

    expect(await databaseExists(database.name)).toBe(false);
  });

  it('with migrate: true, applies the migrations', async () => {
    const database = await createTestDatabase({ migrate: true });
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const tables = await client.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      expect(tables.rows.map((row) => row.tablename)).toEqual([
        '_prisma_migrations',
        'known_login_addresses',
        'outbox',
        'refresh_tokens',
        'sessions',
        'settings',
        'settings_history',
        'users',
      ]);
    } finally {
      await client.end();
      await database.drop();
    }
  });

  it('drop() succeeds while connections are still open, and a second drop() is harmless', async () => {
    const database = await createTestDatabase();
    const forgotten = new Client({ connectionString: database.url });
    // The forced drop terminates this connection; pg reports that as 'error' events, collected here.
    const errors: unknown[] = [];
    const terminated = new Promise((resolve) =>
      forgotten.on('error', (error) => {
        errors.push(error);
        resolve(errors[0]);
      }),
    );
    await forgotten.connect();

    await database.drop();
    await database.drop();

    await expect(terminated).resolves.toMatchObject({ code: '57P01' });
    expect(await databaseExists(database.name)).toBe(false);
    await forgotten.end();
  });

  it('two helpers never share a database', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      expect(a.name).not.toBe(b.name);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});
