import { createTestDatabase, type TestDatabase } from '@concord/db';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/private-redis';
import { eventually as waitUntil, publishChange, storeSetting } from '../../../test/support/stored-setting';
import { createLogger } from '../src/logging/logger';
import { concordEventsChannel } from '../src/outbox/outbox-channel';
import { createRedisClients, type RedisClients } from '../src/redis/redis-clients';
import { apiSettings } from '../src/settings/api.settings';
import { benchSettings } from '../src/settings/bench.settings';
import { redisEventsSubscription } from '../src/settings/events-subscription';
import { createSettingsFollower, type SettingsFollower } from '../src/settings/settings-follower';
import type { SettingsChangedData } from '../src/settings/settings-events';
import { createStoredSettingsSource } from '../src/settings/stored-settings';
import { deleteRedisPrefix, uniqueRedisPrefix } from '../../../test/support/redis-prefix';

const REDIS_URL = 'redis://127.0.0.1:6379';
const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'test-1' });
const api = apiSettings({ maxAccessTtlSeconds: 3600 });

let db: TestDatabase;
let pool: Pool;
let publisher: Redis;
const prefix = uniqueRedisPrefix();
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  pool = new Pool({ connectionString: db.url, max: 4 });
  publisher = new Redis(REDIS_URL);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await pool.query('DELETE FROM settings');
});
afterAll(async () => {
  await deleteRedisPrefix(publisher, prefix);
  publisher.disconnect();
  await pool.end();
  await db.drop();
});

function store(key: string, value: unknown, namespace = 'api'): Promise<SettingsChangedData> {
  return storeSetting(pool, { key, value, namespace });
}

function publish(data: SettingsChangedData, redis: Redis = publisher, on = prefix): Promise<void> {
  return publishChange(redis, on, { ...data, updated_by: data.updated_by ?? '' });
}

async function follower(
  options: {
    env?: Record<string, unknown>;
    redisUrl?: string;
    prefix?: string;
    namespaces?: 'api+bench';
  } = {},
): Promise<{ follower: SettingsFollower; clients: RedisClients }> {
  const clients = await createRedisClients(options.redisUrl ?? REDIS_URL, logger, 'follower-test');
  const created = createSettingsFollower({
    namespaces: options.namespaces ? [api, benchSettings()] : [api],
    source: createStoredSettingsSource(pool),
    subscription: redisEventsSubscription(clients, options.prefix ?? prefix, logger),
    envValues: new Map(Object.entries(options.env ?? {})),
    logger,
    retry: { baseMs: 50, maxMs: 500 },
  });
  cleanups.push(
    () => clients.close(),
    () => created.stop(),
  );
  await created.start();
  return { follower: created, clients };
}

function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  return waitUntil(predicate, timeoutMs);
}

/** Waits long enough for a message published now to have been delivered, if it were going to be. */
async function settle(): Promise<void> {
  await publisher.ping();
  await new Promise((r) => setTimeout(r, 200));
}

describe('precedence at start', () => {
  it('for a live key the stored value wins over the env value', async () => {
    await store('rate_limit_max_requests', 300);

    const { follower: f } = await follower({ env: { rate_limit_max_requests: 200 } });

    expect(f.effective('rate_limit_max_requests')).toEqual({ value: 300, source: 'stored' });
  });

  it('for a restart key the env value wins over the stored value', async () => {
    await store('cors_allowed_origins', ['https://stored.example']);

    const { follower: f } = await follower({ env: { cors_allowed_origins: ['https://env.example'] } });

    expect(f.effective('cors_allowed_origins')).toEqual({ value: ['https://env.example'], source: 'env' });
  });

  it('for a restart key without env the stored value wins over the default', async () => {
    await store('trusted_proxies', ['10.0.0.1']);

    const { follower: f } = await follower();

    expect(f.effective('trusted_proxies')).toEqual({ value: ['10.0.0.1'], source: 'stored' });
  });

  it('for a live key neither stored nor in env, the default applies', async () => {
    const { follower: f } = await follower();

    expect(f.effective('jwt_expiry_minutes')).toEqual({ value: 15, source: 'default' });
  });

  it('when a stored value breaks this process bound, the env value applies instead', async () => {
    await store('jwt_expiry_minutes', 120); // above this process's JWT_MAX_ACCESS_TTL_SECONDS / 60

    const { follower: f } = await follower({ env: { jwt_expiry_minutes: 20 } });

    expect(f.effective('jwt_expiry_minutes')).toEqual({ value: 20, source: 'env' });
  });
});

describe('following settings.changed', () => {
  it('when a change is published, its live key takes the new value and onChange fires once', async () => {
    const { follower: f } = await follower();
    const seen: unknown[] = [];
    f.onChange('min_password_length', (value) => seen.push(value));

    await publish(await store('min_password_length', 20));
    await eventually(() => seen.length > 0);

    expect(f.value('min_password_length')).toBe(20);
    expect(seen).toEqual([20]);
  });

  it('when the same revision is published twice, it is applied once', async () => {
    const { follower: f } = await follower();
    const events: SettingsChangedData[] = [];
    f.onEvent((event) => events.push(event));
    const change = await store('rate_limit_max_requests', 500);

    await publish(change);
    await publish(change);
    await settle();

    expect(events.map((e) => e.revision)).toEqual([change.revision]);
  });

  it('when an older revision of a key arrives after a newer one, the newer value stays', async () => {
    const { follower: f } = await follower();
    const older = await store('rate_limit_max_requests', 400);
    const newer = await store('rate_limit_max_requests', 600);

    await publish(newer);
    await publish(older);
    await settle();

    expect(f.value('rate_limit_max_requests')).toBe(600);
  });

  it('when another key arrives with a lower revision than one applied, it is still applied', async () => {
    const { follower: f } = await follower();
    const lower = await store('min_password_length', 16);
    const higher = await store('jwt_expiry_minutes', 30);

    await publish(higher);
    await publish(lower);
    await eventually(() => f.value('min_password_length') === 16);

    expect(f.value('jwt_expiry_minutes')).toBe(30);
  });

  it('when a key is reset (value null), it goes back to the env value', async () => {
    await store('jwt_expiry_minutes', 30);
    const { follower: f } = await follower({ env: { jwt_expiry_minutes: 10 } });

    await publish(await store('jwt_expiry_minutes', null));
    await eventually(() => f.value('jwt_expiry_minutes') !== 30);

    expect(f.effective('jwt_expiry_minutes')).toEqual({ value: 10, source: 'env' });
  });

  it('when a key is reset without an env value, it goes back to the default', async () => {
    await store('min_password_length', 40);
    const { follower: f } = await follower();

    await publish(await store('min_password_length', null));
    await eventually(() => f.value('min_password_length') !== 40);

    expect(f.effective('min_password_length')).toEqual({ value: 12, source: 'default' });
  });

  it('when an event carries a value below the floor, the key falls back to its default, not to that value', async () => {
    const { follower: f } = await follower();
    await publish(await store('min_password_length', 30));
    await eventually(() => f.value('min_password_length') === 30);
    const forged = { ...(await store('min_password_length', 31)), value: 4 };

    await publish(forged);
    await eventually(() => f.value('min_password_length') !== 30);

    expect(f.effective('min_password_length')).toEqual({ value: 12, source: 'default' });
  });

  it('when a message is not a valid event, it is ignored and later events still apply', async () => {
    const { follower: f } = await follower();

    await publisher.publish(concordEventsChannel(prefix), '{"type":"settings.changed","data":{"key":1}}');
    await publisher.publish(concordEventsChannel(prefix), 'not json');
    await publish(await store('rate_limit_max_requests', 700));
    await eventually(() => f.value('rate_limit_max_requests') === 700);

    expect(f.value('rate_limit_max_requests')).toBe(700);
  });

  it('when a restart key changes, the process keeps its start value and still announces the change', async () => {
    const { follower: f } = await follower();
    const events: SettingsChangedData[] = [];
    f.onEvent((event) => events.push(event));

    await publish(await store('cors_allowed_origins', ['https://later.example']));
    await eventually(() => events.length > 0);

    expect(f.value('cors_allowed_origins')).toEqual(['http://localhost:5173']);
  });

  it('when a bench key changes, the change is announced (realtime re-broadcasts it)', async () => {
    const { follower: f } = await follower({ namespaces: 'api+bench' });
    const events: SettingsChangedData[] = [];
    f.onEvent((event) => events.push(event));
    const change = await store('counter', 3, 'bench');

    await publish(change);
    await eventually(() => events.length > 0);

    expect(events).toEqual([change]);
  });
});

describe('re-read on resubscribe', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('when a change is committed while Redis is down, it is applied after the reconnect', async () => {
    const { follower: f } = await follower({ redisUrl: redis.url, prefix: 'restart:' });
    const events: SettingsChangedData[] = [];
    f.onEvent((event) => events.push(event));

    await redis.kill();
    // Committed while no subscriber can hear it: its publish (had there been one) went nowhere.
    const missed = await store('rate_limit_max_requests', 900);
    await redis.start();
    await eventually(() => f.value('rate_limit_max_requests') === 900, 15_000);

    expect(events.map((e) => e.revision)).toEqual([missed.revision]);
  });

  it('when the event of a change arrives after the re-read applied it, it is not applied twice', async () => {
    const { follower: f } = await follower({ redisUrl: redis.url, prefix: 'restart2:' });
    const events: SettingsChangedData[] = [];
    f.onEvent((event) => events.push(event));
    await redis.kill();
    const change = await store('rate_limit_time_unit', 'hour');
    await redis.start();
    await eventually(() => f.value('rate_limit_time_unit') === 'hour', 15_000);

    const late = new Redis(redis.url);
    await publish(change, late, 'restart2:');
    await late.ping();
    await new Promise((r) => setTimeout(r, 200));
    late.disconnect();

    expect(events.map((e) => e.revision)).toEqual([change.revision]);
  });
});
