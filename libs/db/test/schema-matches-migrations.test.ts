import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../src/test-database';
import { factsOfDatabase } from './database-schema.facts';
import { factsOfDatamodel, factsOfSchemaFile, parseSchema } from './prisma-schema.facts';

const SCHEMA_FILE = path.join(__dirname, '..', 'prisma', 'schema.prisma');

/** What one side has and the other lacks; both empty when schema and database agree. */
function difference(schema: readonly string[], database: readonly string[]) {
  return {
    inSchemaButNotInDatabase: schema.filter((fact) => !database.includes(fact)),
    inDatabaseButNotInSchema: database.filter((fact) => !schema.includes(fact)),
  };
}

let database: TestDatabase;
let client: Client;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: true });
  client = new Client({ connectionString: database.url });
  await client.connect();
});

afterAll(async () => {
  await client.end();
  await database.drop();
});

describe('schema.prisma and prisma/migrations', () => {
  it('the migrated database has exactly the tables, columns, indexes and foreign keys of schema.prisma', async () => {
    const fromSchema = await factsOfSchemaFile(SCHEMA_FILE);
    const fromDatabase = await factsOfDatabase(client);

    expect(difference(fromSchema, fromDatabase)).toEqual({
      inSchemaButNotInDatabase: [],
      inDatabaseButNotInSchema: [],
    });
    // Guards the comparison itself: it must have looked at something.
    expect(fromSchema).toContain('column sessions.user_agent character varying(512) NULL');
    expect(fromSchema).toContain(
      'foreign key refresh_tokens.refresh_tokens_session_id_fkey (session_id) REFERENCES sessions (id) ON DELETE CASCADE ON UPDATE CASCADE',
    );
  });

  it('when schema.prisma gains a column that no migration adds, the comparison names it', async () => {
    const schema = (await readFile(SCHEMA_FILE, 'utf8')).replace(
      /model User \{\n/,
      'model User {\n  nickname String? @db.VarChar(40)\n  @@index([nickname])\n',
    );

    const fromSchema = factsOfDatamodel(parseSchema(schema));

    expect(difference(fromSchema, await factsOfDatabase(client))).toEqual({
      inSchemaButNotInDatabase: [
        'column users.nickname character varying(40) NULL',
        'index users.users_nickname_idx INDEX USING btree (nickname)',
      ],
      inDatabaseButNotInSchema: [],
    });
  });

  it('when a migration adds a column that schema.prisma lacks, the comparison names it', async () => {
    await client.query('BEGIN');
    try {
      await client.query('ALTER TABLE sessions ADD COLUMN device text');

      const facts = await factsOfDatabase(client);

      expect(difference(await factsOfSchemaFile(SCHEMA_FILE), facts)).toEqual({
        inSchemaButNotInDatabase: [],
        inDatabaseButNotInSchema: ['column sessions.device text NULL'],
      });
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('has the CHECK constraints that schema.prisma cannot express', async () => {
    const checks = await client.query(
      `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
         FROM pg_constraint WHERE contype = 'c' AND connamespace = 'public'::regnamespace ORDER BY conname`,
    );

    expect(checks.rows).toEqual([
      {
        table_name: 'sessions',
        conname: 'sessions_activity_order',
        definition: 'CHECK (((created_at <= last_active_at) AND (last_active_at <= expires_at)))',
      },
      {
        table_name: 'settings_history',
        conname: 'settings_history_op_check',
        definition:
          "CHECK ((((op = 'set'::text) AND (new_value IS NOT NULL)) OR ((op = 'reset'::text) AND (new_value IS NULL))))",
      },
      {
        table_name: 'settings',
        conname: 'settings_revision_positive',
        definition: 'CHECK ((revision > 0))',
      },
      {
        table_name: 'users',
        conname: 'users_role_check',
        definition:
          "CHECK ((role = ANY (ARRAY['ceo'::text, 'manager'::text, 'member'::text, 'observer'::text])))",
      },
    ]);
  });

  it('rejects a role outside the four of DESIGN §4 and a session active after it expires', async () => {
    await expect(
      client.query("INSERT INTO users (username, password_hash, role) VALUES ('eve', 'x', 'admin')"),
    ).rejects.toMatchObject({ code: '23514', constraint: 'users_role_check' });

    const user = await client.query<{ id: string }>(
      "INSERT INTO users (username, password_hash, role) VALUES ('ann', 'x', 'member') RETURNING id",
    );
    await expect(
      client.query(
        `INSERT INTO sessions (user_id, expires_at, access_expires_at, last_active_at, security_stamp)
         VALUES ($1, now() + interval '1 hour', now(), now() + interval '2 hours', gen_random_uuid())`,
        [user.rows[0]!.id],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'sessions_activity_order' });
  });
});
