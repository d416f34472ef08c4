import { Pool, type PoolClient } from 'pg';
import { toAppError } from '../src/errors/problem';
import { inTransaction } from '../src/pg/pg-transaction';

// Read-only statements on the server's own database: these tests create no data.
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

let pool: Pool;
let admin: Pool;
beforeAll(() => {
  pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
  admin = new Pool({ connectionString: DATABASE_URL, max: 1 });
});
afterAll(async () => {
  await pool.end();
  await admin.end();
});

/** Ends the server process behind `client`, as a failover or pg_terminate_backend would. */
async function killBackend(client: PoolClient): Promise<void> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  // The termination reaches the idle client as an 'error' event before the next statement.
  await new Promise((resolve) => setTimeout(resolve, 300));
}

describe('inTransaction', () => {
  // One connection, so the session-private temp table below is the one every call sees.
  let single: Pool;
  beforeAll(async () => {
    single = new Pool({ connectionString: DATABASE_URL, max: 1 });
    await single.query('CREATE TEMP TABLE tx_probe (n int)');
  });
  afterAll(async () => {
    await single.end();
  });
  const count = async () => Number((await single.query('SELECT count(*) AS n FROM tx_probe')).rows[0].n);

  it('when fn resolves, commits and returns its value', async () => {
    const before = await count();

    const value = await inTransaction(single, async (client) => {
      await client.query('INSERT INTO tx_probe VALUES (1)');
      return 'done';
    });

    expect({ value, rows: await count() }).toEqual({ value: 'done', rows: before + 1 });
  });

  it('when fn throws, rolls back and rethrows its error', async () => {
    const before = await count();
    const boom = new Error('boom');

    const outcome = inTransaction(single, async (client) => {
      await client.query('INSERT INTO tx_probe VALUES (2)');
      throw boom;
    });

    await expect(outcome).rejects.toBe(boom);
    expect(await count()).toBe(before);
  });

  it('when the connection drops between two statements, rejects with a 503 outage and the process keeps running', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const outcome = await inTransaction(pool, async (client) => {
        await client.query('SELECT 1');
        await killBackend(client);
        await client.query('SELECT 2');
      }).then(
        () => 'committed',
        (err: unknown) => toAppError(err).appError.status,
      );

      expect({ outcome, uncaught: uncaught.length }).toEqual({ outcome: 503, uncaught: 0 });
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
