import { startSettingsSubscriber, type SettingsSubscriber } from '../../../test/support/settings-subscriber';
import { benchKey, bearer, startSettingsHarness, type SettingsHarness } from './support/settings-harness';

const CLIENTS = 8;
const INCREMENTS_PER_CLIENT = 10;
/** Generous bound for the last event to arrive after the last write (the design's target is 1 s). */
const DELIVERY_BOUND_MS = Number(process.env.TEST_DELIVERY_BOUND_MS ?? 10_000);

let h: SettingsHarness;
let subscriber: SettingsSubscriber;

beforeAll(async () => {
  h = await startSettingsHarness({ replicas: 2 });
  subscriber = await startSettingsSubscriber({
    pool: h.pool,
    redisUrl: h.env.REDIS_URL!,
    prefix: h.env.REDIS_PREFIX!,
  });
});
afterAll(async () => {
  await subscriber?.close();
  await h?.cleanup();
});

async function eventually(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('settings.changed delivery from both replicas', () => {
  it('each committed write reaches a subscriber exactly once after dedupe, and a 412 never', async () => {
    const key = benchKey('delivery');
    const writer = await h.user('manager');
    const path = `/api/v1/settings/bench/${key}`;
    const committed: number[] = [];
    let refused = 0;
    async function client(i: number): Promise<void> {
      const agent = h.http(i % 2);
      for (let n = 0; n < INCREMENTS_PER_CLIENT; n++) {
        for (;;) {
          const read = await agent.get(path).set('Authorization', bearer(writer)).expect(200);
          const write = await agent
            .put(path)
            .set('Authorization', bearer(writer))
            .set('If-Match', read.headers.etag as string)
            .send({ value: (read.body as { value: number }).value + 1 });
          if (write.status === 200) {
            committed.push(Number(JSON.parse(write.headers.etag as string)));
            break;
          }
          expect(write.status).toBe(412);
          refused++;
        }
      }
    }

    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    const mine = () => subscriber.events.filter((e) => e.namespace === 'bench' && e.key === key);
    await eventually(() => mine().length >= committed.length, DELIVERY_BOUND_MS);
    await new Promise((r) => setTimeout(r, 300)); // a late duplicate, were one let through

    expect(refused).toBeGreaterThan(0);
    expect(
      mine()
        .map((e) => e.revision)
        .sort((a, b) => a - b),
    ).toEqual([...committed].sort((a, b) => a - b));
  });
});
