import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@concord/db';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { createLogger } from '../src/logging/logger';
import { enqueueOutbox, markOutboxPublished } from '../src/outbox/outbox';
import { concordEventsChannel, publishPayloadOn } from '../src/outbox/outbox-channel';
import {
  createOutboxRelay,
  type OutboxDelivery,
  type OutboxHandler,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../src/outbox/outbox-relay';

let db: TestDatabase;
let pool: Pool;
const relays: OutboxRelay[] = [];
const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'outbox-test' });

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  pool = new Pool({ connectionString: db.url, max: 8 });
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** A topic of this test's own, so tests sharing the database never see each other's rows. */
function newTopic(): string {
  return `test.${randomBytes(4).toString('hex')}`;
}

function relay(
  handlers: Record<string, OutboxHandler>,
  overrides: Partial<OutboxRelayOptions> = {},
): OutboxRelay {
  const r = createOutboxRelay({
    pool,
    handlers,
    logger,
    pollIntervalMs: 60_000,
    retry: { baseMs: 1_000, maxMs: 2_500 },
    deliveryTimeoutMs: 2_000,
    ...overrides,
  });
  relays.push(r);
  return r;
}

/** A handler that records what it delivered. */
function recorder(): OutboxHandler & { seen: OutboxDelivery[] } {
  const seen: OutboxDelivery[] = [];
  return Object.assign(async (d: OutboxDelivery) => void seen.push(d), { seen });
}

async function enqueue(topic: string, payload: unknown): Promise<string> {
  const [id] = await enqueueOutbox(pool, [{ topic, payload }]);
  return id!;
}

async function row(id: string) {
  const { rows } = await pool.query<{
    attempts: number;
    last_error: string | null;
    published: boolean;
    due_in_ms: number;
  }>(
    `SELECT attempts, last_error, published_at IS NOT NULL AS published,
            extract(epoch FROM available_at - clock_timestamp())::float8 * 1000 AS due_in_ms
       FROM outbox WHERE id = $1`,
    [id],
  );
  return rows[0]!;
}

/** Makes a rescheduled row due now, as if its backoff had elapsed. */
async function makeDue(id: string): Promise<void> {
  await pool.query(`UPDATE outbox SET available_at = clock_timestamp() - interval '1 ms' WHERE id = $1`, [
    id,
  ]);
}

describe('outbox relay', () => {
  it('delivers a committed row to its topic callback and marks it published', async () => {
    const topic = newTopic();
    const handler = recorder();
    const id = await enqueue(topic, { hello: 'world', n: 1 });

    const pass = await relay({ [topic]: handler }).runOnce();

    expect(pass).toEqual({ claimed: 1, delivered: 1, failed: 0 });
    expect(handler.seen).toMatchObject([{ id, topic, payload: { hello: 'world', n: 1 }, attempts: 0 }]);
    expect(await row(id)).toMatchObject({ published: true, attempts: 0 });
    expect((await relay({ [topic]: handler }).runOnce()).claimed).toBe(0);
  });

  it('never delivers a row whose transaction rolled back', async () => {
    const topic = newTopic();
    const handler = recorder();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await enqueueOutbox(client, [{ topic, payload: { doomed: true } }]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }

    const pass = await relay({ [topic]: handler }).runOnce();

    expect(pass.claimed).toBe(0);
    expect(handler.seen).toEqual([]);
  });

  it('claims only rows of its own topics', async () => {
    const mine = newTopic();
    const theirs = newTopic();
    const handler = recorder();
    await enqueue(theirs, { for: 'someone else' });
    const id = await enqueue(mine, { for: 'me' });

    await relay({ [mine]: handler }).runOnce();

    expect(handler.seen.map((d) => d.id)).toEqual([id]);
    expect(
      (await pool.query('SELECT 1 FROM outbox WHERE topic = $1 AND published_at IS NULL', [theirs])).rowCount,
    ).toBe(1);
  });

  it('delivers a row committed after a higher id was delivered (no high-water mark)', async () => {
    const topic = newTopic();
    const handler = recorder();
    const r = relay({ [topic]: handler });
    const slow = await pool.connect();
    let lowId = '';
    let highId = '';
    let firstPass: string[] = [];
    try {
      await slow.query('BEGIN');
      [lowId = ''] = await enqueueOutbox(slow, [{ topic, payload: { order: 'first id, second commit' } }]);
      highId = await enqueue(topic, { order: 'second id, first commit' });
      await r.runOnce();
      firstPass = handler.seen.map((d) => d.id);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }

    await r.runOnce();

    expect(Number(lowId)).toBeLessThan(Number(highId));
    expect(firstPass).toEqual([highId]);
    expect(handler.seen.map((d) => d.id)).toEqual([highId, lowId]);
  });

  it('a row that keeps failing does not hold back the others', async () => {
    const topic = newTopic();
    const delivered: unknown[] = [];
    const poison = await enqueue(topic, { poison: true });
    await enqueue(topic, { poison: false, n: 1 });
    await enqueue(topic, { poison: false, n: 2 });

    const pass = await relay({
      [topic]: async (d) => {
        if ((d.payload as { poison: boolean }).poison) throw new Error('cannot deliver this one');
        delivered.push(d.payload);
      },
    }).runOnce();

    expect(pass).toEqual({ claimed: 3, delivered: 2, failed: 1 });
    expect(delivered).toEqual(
      expect.arrayContaining([
        { poison: false, n: 1 },
        { poison: false, n: 2 },
      ]),
    );
    expect(await row(poison)).toMatchObject({
      published: false,
      attempts: 1,
      last_error: 'cannot deliver this one',
    });
  });

  it('reschedules a failing row with growing backoff bounded by retry.maxMs, then delivers it', async () => {
    const topic = newTopic();
    let failures = 3;
    const seen: number[] = [];
    const r = relay({
      [topic]: async (d) => {
        seen.push(d.attempts);
        if (failures-- > 0) throw new Error('redis refused the write');
      },
    });
    const id = await enqueue(topic, {});
    const delays: number[] = [];

    for (let i = 0; i < 3; i++) {
      await r.runOnce();
      const state = await row(id);
      delays.push(state.due_in_ms);
      expect((await r.runOnce()).claimed).toBe(0); // not due yet
      await makeDue(id);
    }
    await r.runOnce();

    // 1 s, 2 s, then capped at 2.5 s (not 4 s); a little less as time passed since the marking.
    expect(delays[0]).toBeGreaterThan(900);
    expect(delays[0]).toBeLessThanOrEqual(1_000);
    expect(delays[1]).toBeGreaterThan(1_900);
    expect(delays[1]).toBeLessThanOrEqual(2_000);
    expect(delays[2]).toBeGreaterThan(2_400);
    expect(delays[2]).toBeLessThanOrEqual(2_500);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(await row(id)).toMatchObject({
      published: true,
      attempts: 3,
      last_error: 'redis refused the write',
    });
  });

  it('counts a callback that never settles as failed after the delivery timeout and releases the row', async () => {
    const topic = newTopic();
    const id = await enqueue(topic, {});
    const started = performance.now();

    const pass = await relay(
      { [topic]: () => new Promise<void>(() => undefined) },
      { deliveryTimeoutMs: 200 },
    ).runOnce();

    expect(pass).toEqual({ claimed: 1, delivered: 0, failed: 1 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await row(id)).last_error).toMatch(/timed out after 200 ms/);
  });

  it('two relays at once: SKIP LOCKED gives each row to exactly one of them', async () => {
    const topic = newTopic();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, n) => enqueue(topic, { n })));
    const slowRecorder = () => {
      const seen: string[] = [];
      const handler: OutboxHandler = async (d) => {
        await new Promise((r) => setTimeout(r, 20));
        seen.push(d.id);
      };
      return { seen, handler };
    };
    const a = slowRecorder();
    const b = slowRecorder();
    const relayA = relay({ [topic]: a.handler }, { batchSize: 5 });
    const relayB = relay({ [topic]: b.handler }, { batchSize: 5 });

    for (let round = 0; round < 2; round++) await Promise.all([relayA.runOnce(), relayB.runOnce()]);

    const all = [...a.seen, ...b.seen];
    expect(all).toHaveLength(20);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(a.seen.length).toBeGreaterThan(0);
    expect(b.seen.length).toBeGreaterThan(0);
  });

  it('a relay skips a row another relay is delivering instead of waiting for it', async () => {
    const topic = newTopic();
    await enqueue(topic, {});
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const holder = relay({ [topic]: () => gate });
    const holding = holder.runOnce();
    await new Promise((r) => setTimeout(r, 100));

    const started = performance.now();
    const other = await relay({ [topic]: recorder() }).runOnce();
    const tookMs = performance.now() - started;
    release();

    expect(other.claimed).toBe(0);
    expect(tookMs).toBeLessThan(1_000);
    expect(await holding).toEqual({ claimed: 1, delivered: 1, failed: 0 });
  });

  it('leaves rows younger than claimAfterMs to their writer, then claims them', async () => {
    const topic = newTopic();
    const handler = recorder();
    const r = relay({ [topic]: handler }, { claimAfterMs: 300 });
    const id = await enqueue(topic, {});

    const early = await r.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const later = await r.runOnce();

    expect(early.claimed).toBe(0);
    expect(later.delivered).toBe(1);
    expect(handler.seen.map((d) => d.id)).toEqual([id]);
  });

  it('skips rows the writer marked published itself', async () => {
    const topic = newTopic();
    const handler = recorder();
    const id = await enqueue(topic, {});

    const marked = await markOutboxPublished(pool, [id]);
    const pass = await relay({ [topic]: handler }).runOnce();

    expect(marked).toBe(1);
    expect(pass.claimed).toBe(0);
  });

  it("delivers a row written by a data-modifying CTE in the caller's own statement", async () => {
    const topic = newTopic();
    const handler = recorder();
    await pool.query('CREATE TABLE IF NOT EXISTS demo_settings (key text PRIMARY KEY, value int NOT NULL)');
    await pool.query('INSERT INTO demo_settings VALUES ($1, 1)', [topic]);

    const changed = await pool.query(
      `WITH changed AS (
         UPDATE demo_settings SET value = value + 1 WHERE key = $1 RETURNING key, value
       ), event AS (
         INSERT INTO outbox (topic, payload)
         SELECT $1, jsonb_build_object('key', key, 'value', value) FROM changed
       )
       SELECT value FROM changed`,
      [topic],
    );
    await relay({ [topic]: handler }).runOnce();

    expect(changed.rows).toEqual([{ value: 2 }]);
    expect(handler.seen.map((d) => d.payload)).toEqual([{ key: topic, value: 2 }]);
  });

  it('kick makes a running relay deliver soon, without waiting for its poll interval', async () => {
    const topic = newTopic();
    const handler = recorder();
    const r = relay({ [topic]: handler }, { pollIntervalMs: 60_000, claimAfterMs: 100 });
    r.start();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first pass ran and found nothing
    await enqueue(topic, {});

    r.kick();
    const started = performance.now();
    while (handler.seen.length === 0 && performance.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    expect(handler.seen).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('reports the backlog: pending rows and the age of the oldest one', async () => {
    const topic = newTopic();
    const r = relay(
      {
        [topic]: async () => {
          throw new Error('not today');
        },
      },
      { pollIntervalMs: 50 },
    );
    await enqueue(topic, {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.backlog(topic)).toEqual({ pending: 0, oldestAgeMs: 0 }); // nothing measured before start

    r.start();
    const started = performance.now();
    while (r.backlog(topic).pending === 0 && performance.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    expect(r.backlog(topic).pending).toBe(1);
    expect(r.backlog(topic).oldestAgeMs).toBeGreaterThanOrEqual(300);
  });

  it('cleanup deletes published rows past the retention and keeps the rest', async () => {
    const topic = newTopic();
    const old = await enqueue(topic, { age: 'old' });
    const recent = await enqueue(topic, { age: 'recent' });
    const unpublished = await enqueue(topic, { age: 'pending' });
    await pool.query(`UPDATE outbox SET published_at = now() - interval '2 hours' WHERE id = $1`, [old]);
    await pool.query(`UPDATE outbox SET published_at = now() - interval '10 minutes' WHERE id = $1`, [
      recent,
    ]);
    await pool.query(`UPDATE outbox SET created_at = now() - interval '3 hours' WHERE id = $1`, [
      unpublished,
    ]);

    const deleted = await relay({ [topic]: recorder() }, { retentionMs: 3_600_000 }).cleanup();

    const left = await pool.query<{ id: string }>('SELECT id FROM outbox WHERE topic = $1 ORDER BY id', [
      topic,
    ]);
    expect(deleted).toBe(1);
    expect(left.rows.map((r) => r.id)).toEqual([recent, unpublished]);
  });
});

describe('publishPayloadOn', () => {
  it('publishes the payload as JSON on the Concord events channel', async () => {
    const prefix = `concord_test_${randomBytes(6).toString('hex')}:`;
    const publisher = new Redis('redis://127.0.0.1:6379');
    const subscriber = new Redis('redis://127.0.0.1:6379');
    try {
      const channel = concordEventsChannel(prefix);
      const received = new Promise<string>((resolve) =>
        subscriber.on('message', (_c, text: string) => resolve(text)),
      );
      await subscriber.subscribe(channel);
      const topic = newTopic();
      await enqueue(topic, { type: 'settings.changed', key: 'jwt_expiry_minutes', revision: '42' });

      await relay({ [topic]: publishPayloadOn(publisher, channel) }).runOnce();

      expect(channel).toBe(`${prefix}events`);
      expect(JSON.parse(await received)).toEqual({
        type: 'settings.changed',
        key: 'jwt_expiry_minutes',
        revision: '42',
      });
    } finally {
      publisher.disconnect();
      subscriber.disconnect();
    }
  });
});
