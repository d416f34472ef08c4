import { runBounded } from './bounded';

describe('runBounded', () => {
  it('never runs more than the concurrency at once and runs every item', async () => {
    let running = 0;
    let peak = 0;
    const out = await runBounded([...Array(20).keys()], 3, async (i) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
      return i * 2;
    });
    expect(peak).toBe(3);
    expect(out.done.sort((a, b) => a - b)).toEqual([...Array(20).keys()].map((i) => i * 2));
  });

  it('counts failures, keeps the first five messages and goes on', async () => {
    const out = await runBounded([...Array(10).keys()], 4, async (i) => {
      if (i % 2 === 0) throw new Error(`refused ${i}`);
      return i;
    });
    expect(out.failed).toBe(5);
    expect(out.failures).toHaveLength(5);
    expect(out.done).toHaveLength(5);
  });
});
