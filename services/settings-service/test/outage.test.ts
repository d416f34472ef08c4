import { Client } from 'pg';
import request from 'supertest';
import {
  benchKey,
  bearer,
  startSettingsHarness,
  type SettingsHarness,
  type TestUser,
} from './support/settings-harness';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

/** Generous bound for "recovers by itself" (the pool's connect timeout is 3 s). */
const RECOVERY_DEADLINE_MS = 20_000;

let h: SettingsHarness;
let proxy: TcpProxy;
let viaProxy: ReturnType<typeof request>;

beforeAll(async () => {
  h = await startSettingsHarness();
  const db = new URL(h.env.DATABASE_URL!);
  proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
  db.host = `127.0.0.1:${proxy.port}`;
  const { url } = await h.startReplica({ DATABASE_URL: db.toString(), DATABASE_QUERY_TIMEOUT_MS: '500' });
  viaProxy = request(url);
});
afterAll(async () => {
  await h.cleanup();
  await proxy.close();
});

function read(user: TestUser, key: string) {
  return viaProxy.get(`/api/v1/settings/bench/${key}`).set('Authorization', bearer(user));
}

async function eventually(user: TestUser, key: string): Promise<number> {
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  for (;;) {
    const res = await read(user, key);
    if (res.status === 200 || Date.now() > deadline) return res.status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function storedRow(key: string) {
  const result = await h.pool.query("SELECT value FROM settings WHERE namespace = 'bench' AND key = $1", [
    key,
  ]);
  return result.rows[0] as { value: unknown } | undefined;
}

function expectOutage(res: { status: number; headers: Record<string, string>; body: { code?: number } }) {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.body.code).toBe(8001);
}

describe('Postgres unavailable', () => {
  it('when Postgres refuses connections, reads and writes answer 503 with Retry-After; back, the replica recovers by itself', async () => {
    const user = await h.user('manager');
    const key = benchKey('down');
    expect((await read(user, key)).status).toBe(200);

    await proxy.stop();
    const down = await read(user, key);
    const write = await viaProxy
      .put(`/api/v1/settings/bench/${key}`)
      .set('Authorization', bearer(user))
      .send({ value: 1 });
    await proxy.resume();

    expectOutage(down);
    expectOutage(write);
    expect(await storedRow(key)).toBeUndefined();
    expect(await eventually(user, key)).toBe(200);
  });

  it('when Postgres stops answering (a partition), requests answer 503 instead of hanging, then recover', async () => {
    const user = await h.user('manager');
    const key = benchKey('partition');
    expect((await read(user, key)).status).toBe(200);

    proxy.blackhole();
    const started = Date.now();
    const stalled = await read(user, key);
    const took = Date.now() - started;
    await proxy.resume();

    expectOutage(stalled);
    expect(took).toBeLessThan(10_000);
    expect(await eventually(user, key)).toBe(200);
  });

  it('when a PATCH loses its connection mid-transaction, answers 503 and writes nothing; the next one succeeds', async () => {
    const user = await h.user('manager');
    const [first, second] = [benchKey('atom_a'), benchKey('atom_b')];
    await h
      .http()
      .put(`/api/v1/settings/bench/${second}`)
      .set('Authorization', bearer(user))
      .send({ value: 1 });
    // Hold the second key's row so that the batch has written the first key and then waits.
    const holder = new Client({ connectionString: h.env.DATABASE_URL });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query("SELECT 1 FROM settings WHERE namespace = 'bench' AND key = $1 FOR UPDATE", [second]);

    const batch = h
      .http()
      .patch('/api/v1/settings/bench')
      .set('Authorization', bearer(user))
      .send({
        items: [
          { key: first, value: 5 },
          { key: second, value: 5 },
        ],
      })
      .then((res) => res);
    let terminated = 0;
    for (let i = 0; i < 100 && terminated === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const killed = await holder.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
      );
      terminated = killed.rowCount ?? 0;
    }
    const res = await batch;
    await holder.query('ROLLBACK');
    await holder.end();

    expect(terminated).toBe(1);
    expectOutage(res);
    expect(await storedRow(first)).toBeUndefined();
    expect(await storedRow(second)).toEqual({ value: 1 });
    const again = await h
      .http()
      .patch('/api/v1/settings/bench')
      .set('Authorization', bearer(user))
      .send({
        items: [
          { key: first, value: 5 },
          { key: second, value: 5 },
        ],
      });
    expect(again.status).toBe(200);
  });
});
