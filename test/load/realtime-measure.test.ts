import { fanoutRate } from './realtime-measure';

describe('fanoutRate', () => {
  it('counts every delivery over the time from the first send to the last delivery', () => {
    const r = fanoutRate(1_000, [
      { latencies: [1, 2, 3], lastAt: 1_200 },
      { latencies: [4, 5], lastAt: 1_500 },
    ]);
    expect(r).toEqual({ delivered: 5, durationMs: 500, perSecond: 10 });
  });

  it('with nothing delivered the rate is not a number rather than infinite', () => {
    expect(fanoutRate(1_000, [{ latencies: [], lastAt: 0 }]).perSecond).toBeNaN();
  });
});
