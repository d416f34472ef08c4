import { setTimeout as sleep } from 'node:timers/promises';
import { runWorkload, type Iteration } from './workload';

/** Runs a workload whose iterations take `serviceMs` and collects them. */
async function collect(options: Partial<Parameters<typeof runWorkload>[0]> & { serviceMs?: number }) {
  const seen: Iteration[] = [];
  const errors: unknown[] = [];
  let dropped = 0;
  const arrivals: number[] = [];
  const result = await runWorkload({
    model: 'open',
    concurrency: 10,
    durationMs: 1_000,
    maxIterations: 1_000_000,
    iteration: async (it) => {
      seen.push({ ...it });
      arrivals.push(it.intendedAt);
      await sleep(options.serviceMs ?? 1);
    },
    onError: (err) => errors.push(err),
    onDrop: (it) => {
      dropped++;
      arrivals.push(it.intendedAt);
    },
    ...options,
  });
  return { seen, errors, dropped, result, arrivals: arrivals.sort((a, b) => a - b) };
}

describe('runWorkload (arrival scheduling)', () => {
  it('open model: iterations are scheduled at exactly 1/rate apart, from the first', async () => {
    const { arrivals } = await collect({ rate: 200, durationMs: 500 });

    // 100 arrivals; on a busy machine the last few may still be queued when the time is up.
    expect(arrivals.length).toBeGreaterThanOrEqual(90);
    expect(arrivals.length).toBeLessThanOrEqual(100);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 1]!).toBeCloseTo(5, 6);
  });

  it('open model: a slow target does not slow the arrivals; the wait shows as start after intended', async () => {
    // Two slots, 45 ms per iteration, 50 arrivals per second: more arrive than the slots serve.
    const { seen, arrivals } = await collect({ rate: 50, concurrency: 2, serviceMs: 45, durationMs: 500 });

    // 25 arrivals; the ones still queued when the time is up never start (at most one per slot).
    expect(arrivals.length).toBeGreaterThanOrEqual(23);
    expect(arrivals.length).toBeLessThanOrEqual(25);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 1]!).toBeCloseTo(20, 6);
    const behind = Math.max(...seen.map((it) => it.startedAt - it.intendedAt));
    expect(behind).toBeGreaterThan(20);
  });

  it('open model: arrivals beyond a full queue are dropped and reported, never run late without bound', async () => {
    const { seen, dropped } = await collect({ rate: 200, concurrency: 1, serviceMs: 100, durationMs: 300 });

    expect(dropped).toBeGreaterThan(0);
    expect(seen.length + dropped).toBeLessThanOrEqual(61);
  });

  it('closed model with a rate: each user keeps its own schedule of users/rate apart', async () => {
    const { seen } = await collect({ model: 'closed', rate: 40, concurrency: 2, durationMs: 500 });

    const user0 = seen.filter((it) => it.vu === 0);
    expect(user0.length).toBeGreaterThanOrEqual(3);
    expect(user0[1]!.intendedAt - user0[0]!.intendedAt).toBeCloseTo(50, 6);
    const user1 = seen.filter((it) => it.vu === 1);
    expect(user1[0]!.intendedAt - user0[0]!.intendedAt).toBeCloseTo(25, 6);
  });

  it('closed model without a rate: users go back to back and measure from their actual start', async () => {
    const { seen } = await collect({ model: 'closed', concurrency: 3, serviceMs: 20, durationMs: 300 });

    expect(new Set(seen.map((it) => it.vu))).toEqual(new Set([0, 1, 2]));
    for (const it of seen) expect(it.intendedAt).toBe(it.startedAt);
  });

  it('stops after maxIterations even with time left', async () => {
    const { seen, result } = await collect({
      model: 'closed',
      concurrency: 4,
      maxIterations: 25,
      durationMs: 60_000,
    });

    expect(seen).toHaveLength(25);
    expect(result.started).toBe(25);
    expect(result.elapsedMs).toBeLessThan(10_000);
  });

  it('stops when its signal is aborted', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);

    const { result } = await collect({ rate: 100, durationMs: 60_000, signal: stop.signal });

    expect(result.elapsedMs).toBeLessThan(5_000);
  });

  it('a failing iteration is reported and the run goes on', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    await runWorkload({
      model: 'closed',
      concurrency: 1,
      durationMs: 60_000,
      maxIterations: 5,
      iteration: async () => {
        calls++;
        throw new Error('boom');
      },
      onError: (err) => errors.push(err),
    });

    expect(calls).toBe(5);
    expect(errors).toHaveLength(5);
  });

  it.each([
    [{ model: 'open' as const, rate: undefined }, 'rate'],
    [{ concurrency: 0 }, 'concurrency'],
    [{ durationMs: 0 }, 'duration'],
    [{ maxIterations: 0 }, 'maxIterations'],
  ])('refuses %p', async (bad, word) => {
    await expect(collect({ rate: 10, ...bad })).rejects.toThrow(word);
  });
});
