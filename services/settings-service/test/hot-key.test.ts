import { benchKey, bearer, startSettingsHarness, type SettingsHarness } from './support/settings-harness';

const CLIENTS = 8;
const INCREMENTS_PER_CLIENT = 50;

let h: SettingsHarness;

beforeAll(async () => {
  h = await startSettingsHarness({ replicas: 2 });
});
afterAll(async () => {
  await h.cleanup();
});

describe('a hot key under read-modify-write from 8 clients on two replicas', () => {
  const key = benchKey('hot');
  const granted: { etag: string; replica: string }[] = [];
  let conflicts = 0;
  const unexpected: { status: number; body: unknown }[] = [];

  beforeAll(async () => {
    const writer = await h.user('manager');
    const path = `/api/v1/settings/bench/${key}`;
    async function client(i: number): Promise<void> {
      const agent = h.http(i % 2);
      for (let n = 0; n < INCREMENTS_PER_CLIENT; n++) {
        for (;;) {
          const read = await agent.get(path).set('Authorization', bearer(writer));
          if (read.status !== 200) {
            unexpected.push({ status: read.status, body: read.body });
            return;
          }
          const write = await agent
            .put(path)
            .set('Authorization', bearer(writer))
            .set('If-Match', read.headers.etag as string)
            .send({ value: (read.body as { value: number }).value + 1 });
          if (write.status === 200) {
            granted.push({
              etag: write.headers.etag as string,
              replica: write.headers['x-concord-replica'] as string,
            });
            break;
          }
          if (write.status !== 412) {
            unexpected.push({ status: write.status, body: write.body });
            return;
          }
          conflicts++;
        }
      }
    }
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
  }, 300_000);

  it('every client completed its increments, on both replicas, with conflicts along the way', () => {
    expect(unexpected).toEqual([]);
    expect(granted).toHaveLength(CLIENTS * INCREMENTS_PER_CLIENT);
    expect(new Set(granted.map((g) => g.replica))).toEqual(new Set(['settings-test-1', 'settings-test-2']));
    expect(conflicts).toBeGreaterThan(0);
  });

  it('the final value equals the number of 200s (no lost update)', async () => {
    const writer = await h.user('observer');

    const final = await h.http(0).get(`/api/v1/settings/bench/${key}`).set('Authorization', bearer(writer));

    expect(final.status).toBe(200);
    expect(final.body.value).toBe(granted.length);
  });

  it('no ETag was handed out twice', () => {
    const etags = granted.map((g) => g.etag);

    expect(new Set(etags).size).toBe(etags.length);
  });

  it('in revision order, every change replaced exactly the value the previous one wrote', async () => {
    const history = await h.pool.query<{ old_value: number | null; new_value: number }>(
      'SELECT old_value, new_value FROM settings_history WHERE namespace = $1 AND key = $2 ORDER BY revision',
      ['bench', key],
    );

    expect(history.rows).toHaveLength(granted.length);
    const broken = history.rows.filter(
      (row, i) =>
        row.old_value !== (i === 0 ? null : history.rows[i - 1]!.new_value) || row.new_value !== i + 1,
    );
    expect(broken).toEqual([]);
  });
});
