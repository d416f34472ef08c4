import { createTokenBucket } from './token-bucket';

describe('createTokenBucket', () => {
  it('allows a burst, then refuses until tokens refill at the configured rate', () => {
    let now = 0;
    const bucket = createTokenBucket({ ratePerSecond: 2, burst: 3, now: () => now });

    const burst = [bucket.take(), bucket.take(), bucket.take(), bucket.take()];
    now += 499;
    const beforeRefill = bucket.take();
    now += 1;
    const afterRefill = bucket.take();

    expect(burst).toEqual([true, true, true, false]);
    expect(beforeRefill).toBe(false);
    expect(afterRefill).toBe(true);
  });

  it('never holds more than the burst after a long pause', () => {
    let now = 0;
    const bucket = createTokenBucket({ ratePerSecond: 100, burst: 2, now: () => now });
    now += 60_000;

    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  });
});
