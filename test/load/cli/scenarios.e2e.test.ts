import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startAllServicesStack, type AllServicesStack } from '../../support/all-services-stack';
import { runCli } from './test-support/run';

/**
 * Every scenario once, briefly, against a private stack: auth replica process, settings and
 * realtime in-process, private nginx on free ports (never the local stack's 8443/41xx). What is
 * asserted is correctness (no errors, revocations enforced, nothing lost, only `bench` written),
 * never a performance figure; paced closed loops (no dropped arrivals) so a busy machine slows the
 * runs down instead of failing them.
 */
jest.setTimeout(180_000);

let stack: AllServicesStack;
let db: Client;
const ADMIN = { username: 'load-e2e-ceo', password: 'correct horse battery staple' };

beforeAll(async () => {
  stack = await startAllServicesStack();
  await stack.setup(ADMIN);
  db = new Client({ connectionString: stack.auth.db.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await stack?.cleanup();
});

/** One short run with its own pool (own state folder, so its own users). */
async function run(scenario: string, extra: string[] = []) {
  const state = mkdtempSync(path.join(tmpdir(), 'concord-load-state-'));
  const outcome = await runCli(
    [
      scenario,
      '--target',
      stack.gatewayUrl,
      '--ca',
      stack.caFile,
      '--admin-user',
      ADMIN.username,
      '--admin-password',
      ADMIN.password,
      '--duration',
      '2s',
      '--users',
      '4',
      '--sources',
      '4',
      ...extra,
    ],
    { state },
  );
  const file = readdirSync(state).find((f) => f.startsWith('pool-'))!;
  const prefix = (JSON.parse(readFileSync(path.join(state, file), 'utf8')) as { prefix: string }).prefix;
  return { ...outcome, prefix };
}

it('login-storm: logs pool users in from distinct source addresses and revokes those sessions at the end', async () => {
  const { exitCode, result, prefix } = await run('login-storm', ['--rate', '20', '--model', 'closed']);

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.operations.login!.requests).toBeGreaterThan(0);
  const { rows } = await db.query<{ addresses: string; active: string }>(
    `SELECT count(DISTINCT s.ip_address) AS addresses, count(*) FILTER (WHERE s.revoked_at IS NULL) AS active
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username LIKE $1`,
    [`${prefix}-member-%`],
  );
  expect(Number(rows[0]!.addresses)).toBeGreaterThan(1);
  expect(Number(rows[0]!.active)).toBe(0);
});

it('me: reads succeed with the sessions of the pool', async () => {
  const { exitCode, result } = await run('me');

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.operations.me!.requests).toBeGreaterThan(0);
});

it('settings-cas: no lost updates, and nothing outside the bench namespace is written', async () => {
  // The history is append-only and written by the same statement as every change.
  const before = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM settings_history WHERE namespace <> 'bench'`,
  );

  const { exitCode, result } = await run('settings-cas', ['--keys', '3']);

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.counters['lost updates']).toBe(0);
  expect(result!.counters['writes committed']).toBeGreaterThan(0);
  const after = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM settings_history WHERE namespace <> 'bench'`,
  );
  expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
});

it('settings-hot: writers contending on one key get 412s, counted as conflicts, not errors', async () => {
  const { exitCode, result } = await run('settings-hot', ['--users', '8']);

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.counters['conflicts (412)']).toBeGreaterThan(0);
  expect(result!.counters['lost updates']).toBe(0);
});

it('realtime-connect: handshakes through the gateway succeed', async () => {
  const { exitCode, result } = await run('realtime-connect');

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.operations.connect!.requests).toBeGreaterThan(0);
});

it('fanout-shared: every publish reaches every subscriber', async () => {
  const { exitCode, result } = await run('fanout-shared', ['--rate', '20', '--model', 'closed']);

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.counters['deliveries received']).toBe(result!.counters['deliveries expected']);
  expect(result!.operations.deliver!.requests).toBe(4 * result!.operations.publish!.requests);
});

it('fanout-user: each per-user publish reaches that user', async () => {
  const { exitCode, result } = await run('fanout-user', ['--rate', '20', '--model', 'closed']);

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.operations.deliver!.requests).toBe(result!.operations.publish!.requests);
});

it('presence-churn: every connect and disconnect is seen as presence:join and presence:leave', async () => {
  const { exitCode, result } = await run('presence-churn');

  expect(exitCode).toBe(0);
  expect(result!.errorsByKind).toEqual({});
  expect(result!.operations['presence-join']!.requests).toBeGreaterThan(0);
  expect(result!.operations['presence-leave']!.requests).toBe(result!.operations['presence-join']!.requests);
});

it('revocation-storm: no revoked token is accepted after the revoke answered', async () => {
  const { exitCode, result } = await run('revocation-storm', ['--rate', '4', '--model', 'closed']);

  expect(result!.errorsByKind).toEqual({});
  expect(exitCode).toBe(0);
  expect(result!.operations.revoke!.requests).toBeGreaterThan(0);
  expect(result!.operations['handshake (revoked token)']!.errors).toBe(0);
  expect(result!.operations['socket cut']!.requests).toBe(result!.operations.revoke!.requests);
});

it('mixed: the weighted mix runs without errors and writes no namespace but bench', async () => {
  const history = () =>
    db.query<{ n: string }>(`SELECT count(*) AS n FROM settings_history WHERE namespace <> 'bench'`);
  const before = await history();

  const { exitCode, result } = await run('mixed', ['--rate', '40', '--model', 'closed']);

  expect(result!.errorsByKind).toEqual({});
  expect(exitCode).toBe(0);
  expect((await history()).rows[0]!.n).toBe(before.rows[0]!.n);
  expect(Object.keys(result!.operations)).toEqual(expect.arrayContaining(['me', 'settings-read', 'publish']));
});
