import { randomUUID } from 'node:crypto';
import { apiSettings, benchSettings, settingsChangedEvent } from '@concord/common';
import { createTestDatabase, type TestDatabase } from '@concord/db';
import { Pool } from 'pg';
import { createSettingsRepository } from '../src/data-access/settings.repository';
import { createSettingRegistry } from '../src/domain/setting-registry';
import { createSettingsWriter, type SettingsWriter, type Writer } from '../src/domain/settings-writer';

let db: TestDatabase;
let pool: Pool;
let settings: SettingsWriter;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  pool = new Pool({ connectionString: db.url, max: 4 });
  const registry = createSettingRegistry([apiSettings({ maxAccessTtlSeconds: 3600 }), benchSettings()]);
  settings = createSettingsWriter({
    registry,
    store: createSettingsRepository(pool, { events: 'outbox' }),
    envValues: new Map(),
    requireIfMatch: false,
  });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

function writer(role: Writer['role'] = 'ceo'): Writer {
  return { sub: randomUUID(), role, requestId: randomUUID() };
}

async function eventsOf(key: string) {
  const result = await pool.query<{ topic: string; payload: Record<string, unknown> }>(
    "SELECT topic, payload FROM outbox WHERE payload->'data'->>'key' = $1 ORDER BY id",
    [key],
  );
  return result.rows;
}

describe('settings.changed through the outbox, in the statement of the change', () => {
  it('an applied change writes its event with etag, revision and writer', async () => {
    const who = writer('manager');
    const key = `evt_${randomUUID().slice(0, 8)}`;

    const result = await settings.put({ namespace: 'bench', key, value: 3, preconditions: {}, writer: who });

    expect(await eventsOf(key)).toEqual([
      {
        topic: 'settings.changed',
        payload: {
          type: 'settings.changed',
          data: {
            namespace: 'bench',
            key,
            value: 3,
            etag: `"${result.resource.revision}"`,
            revision: result.resource.revision,
            updated_by: who.sub,
            updated_at: result.resource.updated_at,
          },
        },
      },
    ]);
  });

  it('an applied change writes an event the shared envelope accepts (what the relay publishes)', async () => {
    const key = `evt_${randomUUID().slice(0, 8)}`;

    await settings.put({ namespace: 'bench', key, value: 4, preconditions: {}, writer: writer() });

    const [event] = await eventsOf(key);
    expect(settingsChangedEvent.safeParse(event?.payload).success).toBe(true);
  });

  it('a sensitive value is masked in the event', async () => {
    const who = writer();

    await settings.patch({
      namespace: 'api',
      items: [
        { key: 'ssl_certfile', value: '/etc/tls/cert.pem' },
        { key: 'ssl_keyfile', value: '/etc/tls/secret-key.pem' },
      ],
      writer: who,
    });

    const [event] = (await eventsOf('ssl_keyfile')).slice(-1);
    expect((event?.payload.data as { value: unknown }).value).toBe('[redacted]');
    expect(JSON.stringify(await eventsOf('ssl_keyfile'))).not.toContain('secret-key');
  });

  it('a refused change (stale If-Match) writes no event', async () => {
    const key = `evt_${randomUUID().slice(0, 8)}`;
    await settings.put({ namespace: 'bench', key, value: 1, preconditions: {}, writer: writer() });

    const refused = settings.put({
      namespace: 'bench',
      key,
      value: 2,
      preconditions: { ifMatch: { any: false, tags: [{ weak: false, opaque: '0' }] } },
      writer: writer(),
    });

    await expect(refused).rejects.toMatchObject({ error: 'VERSION_CONFLICT' });
    expect((await eventsOf(key)).map((e) => (e.payload.data as { value: unknown }).value)).toEqual([1]);
  });

  it('a batch rolled back by one stale item writes no event for any item', async () => {
    const [fresh, stale] = [`evt_a_${randomUUID().slice(0, 8)}`, `evt_b_${randomUUID().slice(0, 8)}`];
    await settings.put({ namespace: 'bench', key: stale, value: 1, preconditions: {}, writer: writer() });

    const refused = settings.patch({
      namespace: 'bench',
      items: [
        { key: fresh, value: 1, ifMatch: '"0"' },
        { key: stale, value: 2, ifMatch: '"0"' },
      ],
      writer: writer(),
    });

    await expect(refused).rejects.toMatchObject({ error: 'VERSION_CONFLICT' });
    expect(await eventsOf(fresh)).toEqual([]);
    expect(await eventsOf(stale)).toHaveLength(1);
  });

  it('a reset announces value null (back to env or default, which each consumer resolves itself)', async () => {
    const key = `evt_${randomUUID().slice(0, 8)}`;
    await settings.put({ namespace: 'bench', key, value: 5, preconditions: {}, writer: writer() });

    await settings.reset({ namespace: 'bench', key, preconditions: {}, writer: writer() });

    expect((await eventsOf(key)).map((e) => (e.payload.data as { value: unknown }).value)).toEqual([5, null]);
  });
});
