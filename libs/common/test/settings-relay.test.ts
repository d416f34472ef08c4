import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@concord/db';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { createLogger } from '../src/logging/logger';
import { enqueueOutbox } from '../src/outbox/outbox';
import { concordEventsChannel } from '../src/outbox/outbox-channel';
import { createOutboxRelay } from '../src/outbox/outbox-relay';
import { parseConcordEvent, SETTINGS_CHANGED } from '../src/settings/settings-events';
import { settingsChangedHandlers } from '../src/settings/settings-relay';
import { uniqueRedisPrefix } from '../../../test/support/redis-prefix';

const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'test-1' });
let db: TestDatabase;
let pool: Pool;
let publisher: Redis;
let subscriber: Redis;
const prefix = uniqueRedisPrefix();
const received: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  pool = new Pool({ connectionString: db.url, max: 4 });
  publisher = new Redis('redis://127.0.0.1:6379');
  subscriber = new Redis('redis://127.0.0.1:6379');
  subscriber.on('message', (_channel: string, message: string) => received.push(message));
  await subscriber.subscribe(concordEventsChannel(prefix));
});
afterAll(async () => {
  subscriber.disconnect();
  publisher.disconnect();
  await pool.end();
  await db.drop();
});

function relay() {
  return createOutboxRelay({
    pool,
    handlers: settingsChangedHandlers(publisher, prefix),
    logger,
    pollIntervalMs: 60_000,
    retry: { baseMs: 60_000, maxMs: 60_000 },
    deliveryTimeoutMs: 2_000,
  });
}

function change(key: string) {
  return {
    type: SETTINGS_CHANGED,
    data: {
      namespace: 'bench',
      key,
      value: 1,
      etag: '"7"',
      revision: 7,
      updated_by: randomUUID(),
      updated_at: new Date().toISOString(),
    },
  };
}

describe('the settings.changed relay handler', () => {
  it('when a row is due, publishes its envelope on {prefix}events, where consumers parse it', async () => {
    const key = `k_${randomUUID().slice(0, 8)}`;
    await enqueueOutbox(pool, [{ topic: SETTINGS_CHANGED, payload: change(key) }]);

    await relay().runOnce();
    await publisher.ping();
    await new Promise((r) => setTimeout(r, 100));

    const mine = received
      .map(parseConcordEvent)
      .filter((e) => e.kind === 'settings.changed' && e.data.key === key);
    expect(mine).toHaveLength(1);
  });

  it('when a row is not a settings.changed envelope, publishes nothing and keeps it for retry', async () => {
    const before = received.length;
    const [id] = await enqueueOutbox(pool, [{ topic: SETTINGS_CHANGED, payload: { key: 'flat' } }]);

    const pass = await relay().runOnce();

    expect(pass).toMatchObject({ delivered: 0, failed: 1 });
    const { rows } = await pool.query('SELECT published_at, last_error FROM outbox WHERE id = $1', [id]);
    expect(rows[0]).toMatchObject({
      published_at: null,
      last_error: expect.stringContaining('not a settings.changed'),
    });
    expect(received.length).toBe(before);
  });
});
