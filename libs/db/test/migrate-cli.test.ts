import { randomBytes } from 'node:crypto';
import { dropDatabase } from '../src/database-admin';
import { runMigrateCli, type CliOutput } from '../src/migrate-cli';
import { readMigrationFiles } from '../src/migration-files';
import { DEFAULT_MIGRATIONS_DIR } from '../src/migrator';

function capture(): CliOutput & { out: Record<string, unknown>[]; err: Record<string, unknown>[] } {
  const out: Record<string, unknown>[] = [];
  const err: Record<string, unknown>[] = [];
  return {
    out,
    err,
    log: (line) => out.push(JSON.parse(line) as Record<string, unknown>),
    error: (line) => err.push(JSON.parse(line) as Record<string, unknown>),
  };
}

describe('migrate CLI', () => {
  const name = `concord_test_${randomBytes(8).toString('hex')}`;
  const url = `postgresql://postgres:s3cret@127.0.0.1:5432/${name}`;

  afterAll(async () => {
    await dropDatabase(url);
  });

  it('creates the missing database, applies the migrations, prints them, and exits 0', async () => {
    const output = capture();
    const expected = (await readMigrationFiles(DEFAULT_MIGRATIONS_DIR)).map((file) => file.name);

    const exitCode = await runMigrateCli({ DATABASE_URL: url }, output);

    expect(exitCode).toBe(0);
    expect(output.err).toEqual([]);
    expect(output.out).toContainEqual(expect.objectContaining({ msg: 'created database', database: name }));
    expect(output.out.at(-1)).toMatchObject({ level: 'info', msg: 'migrations applied', applied: expected });
  });

  it('on a current database, prints that nothing was pending and exits 0', async () => {
    const output = capture();

    const exitCode = await runMigrateCli({ DATABASE_URL: url }, output);

    expect(exitCode).toBe(0);
    expect(output.out.at(-1)).toMatchObject({ msg: 'no pending migrations', applied: [] });
  });

  it('when the database cannot be reached, prints the error without the password and exits 1', async () => {
    const output = capture();

    const exitCode = await runMigrateCli(
      { DATABASE_URL: 'postgresql://postgres:s3cret@127.0.0.1:1/x' },
      output,
    );

    expect(exitCode).toBe(1);
    expect(output.err).toEqual([expect.objectContaining({ level: 'error', msg: 'migration failed' })]);
    expect(JSON.stringify([output.out, output.err])).not.toContain('s3cret');
  });
});
