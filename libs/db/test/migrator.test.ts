import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { MigrationError } from '../src/migration.errors';
import { DEFAULT_MIGRATIONS_DIR, MIGRATION_LOCK_KEY, migrate } from '../src/migrator';
import { createTestDatabase, type TestDatabase } from '../src/test-database';
import { copyMigrations, type MigrationsFixture } from './migrations-fixture';

interface Row {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

let database: TestDatabase;
let fixture: MigrationsFixture;
let client: Client;

beforeEach(async () => {
  database = await createTestDatabase();
  fixture = await copyMigrations();
  client = new Client({ connectionString: database.url });
  await client.connect();
});

afterEach(async () => {
  await client.end();
  await database.drop();
  await fixture.remove();
});

async function rows(): Promise<Row[]> {
  return (await client.query<Row>('SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name'))
    .rows;
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  const error: unknown = await promise.then(
    () => new Error('expected the migration run to fail'),
    (reason: unknown) => reason,
  );
  if (!(error instanceof MigrationError)) {
    throw error;
  }
  return error;
}

describe('migrate', () => {
  it('applies every migration and records it in a _prisma_migrations table shaped like Prisma’s', async () => {
    const expected = await fixture.names();

    const result = await migrate({ databaseUrl: database.url, migrationsDir: DEFAULT_MIGRATIONS_DIR });

    expect(result.applied).toEqual(expected);
    const columns = await client.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.rows).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        character_maximum_length: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        character_maximum_length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        character_maximum_length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'logs',
        data_type: 'text',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    const primaryKey = await client.query(
      `SELECT a.attname FROM pg_index ix JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ANY(ix.indkey)
        WHERE ix.indrelid = '_prisma_migrations'::regclass AND ix.indisprimary`,
    );
    expect(primaryKey.rows).toEqual([{ attname: 'id' }]);

    const recorded = await rows();
    expect(recorded.map((row) => row.migration_name)).toEqual(expected);
    for (const row of recorded) {
      const file = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(sha256Hex(file));
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('when the database is current, applies nothing and leaves the history untouched', async () => {
    await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });
    const before = await rows();

    const result = await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });

    expect(result.applied).toEqual([]);
    expect(await rows()).toEqual(before);
  });

  it('applies only the migrations added since the last run, in name order', async () => {
    await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });
    await fixture.write('29990102000000_second', 'CREATE TABLE second_marker (id integer);');
    await fixture.write('29990101000000_first', 'CREATE TABLE first_marker (id integer);');

    const result = await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });

    expect(result.applied).toEqual(['29990101000000_first', '29990102000000_second']);
    expect((await rows()).map((row) => row.migration_name).slice(-2)).toEqual(result.applied);
  });

  it('when two migrators start together on a fresh database, both succeed and each migration is applied once', async () => {
    // A slow migration keeps the first migrator inside the lock while the second one arrives.
    await fixture.write(
      '29990101000000_slow',
      'SELECT pg_sleep(0.5); CREATE TABLE slow_marker (id integer);',
    );
    const expected = await fixture.names();

    const results = await Promise.all([
      migrate({ databaseUrl: database.url, migrationsDir: fixture.dir }),
      migrate({ databaseUrl: database.url, migrationsDir: fixture.dir }),
    ]);

    const applied = results.map((result) => result.applied);
    expect(applied).toContainEqual(expected);
    expect(applied).toContainEqual([]);
    const counts = await client.query(
      'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY migration_name ORDER BY 1',
    );
    expect(counts.rows).toEqual(expected.map((name) => ({ migration_name: name, n: 1 })));
  });

  it('refuses to run when an applied migration’s file was edited, and applies nothing', async () => {
    await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });
    const [first] = await fixture.names();
    const file = path.join(fixture.dir, first!, 'migration.sql');
    await fixture.write(first!, `${await readFile(file, 'utf8')}\n-- an afterthought\n`);
    await fixture.write('29990101000000_pending', 'CREATE TABLE pending_marker (id integer);');

    const error = await rejection(migrate({ databaseUrl: database.url, migrationsDir: fixture.dir }));

    expect(error.code).toBe('MIGRATION_CHECKSUM_MISMATCH');
    expect(error.message).toContain(first);
    const pending = await client.query("SELECT to_regclass('pending_marker') AS t");
    expect(pending.rows[0].t).toBeNull();
  });

  it('accepts an applied migration whose line endings were switched to CRLF, as Prisma does', async () => {
    await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });
    const [first] = await fixture.names();
    const file = path.join(fixture.dir, first!, 'migration.sql');
    await fixture.write(first!, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));

    await expect(migrate({ databaseUrl: database.url, migrationsDir: fixture.dir })).resolves.toEqual({
      applied: [],
    });
  });

  it('refuses to run while _prisma_migrations holds an unresolved failed migration', async () => {
    await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });
    await client.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs)
       VALUES ('00000000-0000-4000-8000-000000000000', repeat('0', 64), '29990101000000_broken', 'boom')`,
    );
    await fixture.write('29990102000000_pending', 'CREATE TABLE pending_marker (id integer);');

    const error = await rejection(migrate({ databaseUrl: database.url, migrationsDir: fixture.dir }));

    expect(error.code).toBe('MIGRATION_FAILED_ROW');
    expect(error.message).toContain('29990101000000_broken');
    const pending = await client.query("SELECT to_regclass('pending_marker') AS t");
    expect(pending.rows[0].t).toBeNull();
  });

  it('when a migration fails, rolls it back whole, records it as rolled back, and retries it next time', async () => {
    await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });
    await fixture.write('29990101000000_bad', 'CREATE TABLE half_done (id integer);\nSELECT 1 / 0;');

    const error = await rejection(migrate({ databaseUrl: database.url, migrationsDir: fixture.dir }));

    expect(error.code).toBe('MIGRATION_APPLY_FAILED');
    expect(error.message).toContain('division by zero');
    expect((await client.query("SELECT to_regclass('half_done') AS t")).rows[0].t).toBeNull();
    const failed = (await rows()).filter((row) => row.migration_name === '29990101000000_bad');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ finished_at: null, applied_steps_count: 0 });
    expect(failed[0]!.rolled_back_at).toBeInstanceOf(Date);
    expect(failed[0]!.logs).toContain('division by zero');

    await fixture.write('29990101000000_bad', 'CREATE TABLE half_done (id integer);');
    const retry = await migrate({ databaseUrl: database.url, migrationsDir: fixture.dir });

    expect(retry.applied).toEqual(['29990101000000_bad']);
    expect((await client.query("SELECT to_regclass('half_done') AS t")).rows[0].t).toBe('half_done');
  });

  it('when another migrator holds the lock past lockTimeoutMs, gives up with MIGRATION_LOCK_TIMEOUT', async () => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);

    const error = await rejection(
      migrate({ databaseUrl: database.url, migrationsDir: fixture.dir, lockTimeoutMs: 200 }),
    );

    expect(error.code).toBe('MIGRATION_LOCK_TIMEOUT');
    expect((await client.query("SELECT to_regclass('_prisma_migrations') AS t")).rows[0].t).toBeNull();
  });

  it('when the migrations folder does not exist, fails with MIGRATIONS_DIR_INVALID before connecting', async () => {
    const error = await rejection(
      migrate({
        databaseUrl: 'postgresql://nobody@127.0.0.1:1/none',
        migrationsDir: path.join(fixture.dir, 'nope'),
      }),
    );

    expect(error.code).toBe('MIGRATIONS_DIR_INVALID');
  });

  it('when a migration folder has no migration.sql, fails with MIGRATIONS_DIR_INVALID', async () => {
    await mkdir(path.join(fixture.dir, '29990101000000_empty'));

    const error = await rejection(migrate({ databaseUrl: database.url, migrationsDir: fixture.dir }));

    expect(error.code).toBe('MIGRATIONS_DIR_INVALID');
    expect(error.message).toContain('29990101000000_empty');
  });
});
