import { createTestDatabase, type TestDatabase } from '@concord/db';
import { Pool, type PoolClient } from 'pg';
import { createSessionRepository, revokeSessions } from '../src/data-access/session.repository';
import { REVOCATION_TOPIC } from '../src/data-access/revocation-outbox';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  pool = new Pool({ connectionString: db.url, max: 4 });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** A user with one session whose latest access token expires at `accessExpiresAt`. */
async function newSession(username: string, accessExpiresAt: Date): Promise<string> {
  const user = await pool.query<{ id: string }>(
    `INSERT INTO users (username, password_hash, role) VALUES ($1, 'x', 'member') RETURNING id`,
    [username],
  );
  const session = await pool.query<{ id: string }>(
    `INSERT INTO sessions (user_id, expires_at, access_expires_at, security_stamp)
     SELECT id, now() + interval '1 day', $2, security_stamp FROM users WHERE id = $1
     RETURNING id`,
    [user.rows[0]!.id, accessExpiresAt],
  );
  return session.rows[0]!.id;
}

async function inTx<T>(fn: (client: PoolClient) => Promise<T>, outcome: 'COMMIT' | 'ROLLBACK') {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query(outcome);
    return result;
  } finally {
    client.release();
  }
}

async function outboxRows(sid: string) {
  const { rows } = await pool.query<{ id: string; topic: string; payload: unknown; published: boolean }>(
    `SELECT id, topic, payload, published_at IS NOT NULL AS published FROM outbox
      WHERE payload -> 'entries' @> jsonb_build_array(jsonb_build_object('sid', $1::text))`,
    [sid],
  );
  return rows;
}

describe('revokeSessions', () => {
  it('writes the revocation and its outbox row in the caller’s transaction', async () => {
    const exp = new Date('2031-01-01T00:15:00.000Z');
    const sid = await newSession('commit.one', exp);

    const commit = await inTx((c) => revokeSessions(c, [sid], 'logout', new Date()), 'COMMIT');

    const rows = await outboxRows(sid);
    expect(commit).toMatchObject({ newlyRevoked: 1, entries: [{ sid, exp: exp.getTime() / 1000 }] });
    expect(rows).toEqual([
      {
        id: commit.outboxIds[0],
        topic: REVOCATION_TOPIC,
        payload: { entries: [{ sid, exp: exp.getTime() / 1000 }], reason: 'logout' },
        published: false,
      },
    ]);
  });

  it('leaves neither the revocation nor an outbox row when the transaction rolls back', async () => {
    const sid = await newSession('commit.two', new Date('2031-01-01T00:15:00.000Z'));

    await inTx((c) => revokeSessions(c, [sid], 'password_change', new Date()), 'ROLLBACK');

    const session = await pool.query('SELECT revoked_at FROM sessions WHERE id = $1', [sid]);
    expect(session.rows).toEqual([{ revoked_at: null }]);
    expect(await outboxRows(sid)).toEqual([]);
  });

  it('writes no outbox row when no session matched', async () => {
    const commit = await inTx(
      (c) => revokeSessions(c, ['00000000-0000-4000-8000-000000000000'], 'logout', new Date()),
      'COMMIT',
    );

    expect(commit).toEqual({ entries: [], newlyRevoked: 0, outboxIds: [], reason: 'logout' });
  });
});

/** The logout path: the same statement on the pool, atomic without a transaction of the caller's. */
describe('SessionRepository.revoke (no caller transaction)', () => {
  const repository = () => createSessionRepository(pool);

  it('writes the revocation and its outbox row, one for several sessions', async () => {
    const exp = new Date('2031-01-01T00:15:00.000Z');
    const [sid, other] = [await newSession('single.one', exp), await newSession('single.two', exp)];

    const commit = await repository().revoke([sid, other], 'logout', new Date());

    const rows = await outboxRows(sid);
    expect(commit.newlyRevoked).toBe(2);
    expect(commit.entries).toEqual(
      expect.arrayContaining([
        { sid, exp: exp.getTime() / 1000 },
        { sid: other, exp: exp.getTime() / 1000 },
      ]),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: commit.outboxIds[0], topic: REVOCATION_TOPIC, published: false });
    expect(rows[0]!.payload).toEqual({
      entries: expect.arrayContaining(commit.entries),
      reason: 'logout',
    });
    const stored = await pool.query(
      'SELECT count(*)::int AS n FROM sessions WHERE id = ANY($1) AND revoked_at IS NOT NULL',
      [[sid, other]],
    );
    expect(stored.rows[0].n).toBe(2);
  });

  it('counts an already revoked session as not newly revoked, and keeps its first revocation', async () => {
    const sid = await newSession('single.three', new Date('2031-01-01T00:15:00.000Z'));
    const first = new Date('2030-06-01T00:00:00.000Z');
    await repository().revoke([sid], 'logout', first);

    const again = await repository().revoke([sid], 'password_change', new Date());

    const session = await pool.query('SELECT revoked_at, revoked_reason FROM sessions WHERE id = $1', [sid]);
    expect(again.newlyRevoked).toBe(0);
    expect(session.rows).toEqual([{ revoked_at: first, revoked_reason: 'logout' }]);
  });

  it('writes no outbox row when no session matched', async () => {
    const commit = await repository().revoke(['00000000-0000-4000-8000-000000000001'], 'logout', new Date());

    expect(commit).toEqual({ entries: [], newlyRevoked: 0, outboxIds: [], reason: 'logout' });
  });
});
