import { parseRedisBenchmarkCsv } from './redis-benchmark';

describe('parseRedisBenchmarkCsv', () => {
  it("reads redis-benchmark 7's --csv line of a custom command", () => {
    const text = [
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
      '"set concord_bench_ab:key 1767225600","27027.03","0.246","0.040","0.215","0.359","0.519","7.271"',
      '',
    ].join('\n');
    expect(parseRedisBenchmarkCsv(text)).toEqual([
      {
        test: 'set concord_bench_ab:key 1767225600',
        requestsPerSecond: 27027.03,
        latencyMs: { avg: 0.246, min: 0.04, p50: 0.215, p95: 0.359, p99: 0.519, max: 7.271 },
      },
    ]);
  });

  it('keeps quotes that a custom command put into the test name', () => {
    const text = [
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
      '"PUBLISH c {"sid":"x"}","50000.00","0.511","0.160","0.511","0.623","0.671","0.791"',
    ].join('\n');
    expect(parseRedisBenchmarkCsv(text)[0]).toMatchObject({
      test: 'PUBLISH c {"sid":"x"}',
      requestsPerSecond: 50000,
    });
  });

  it('refuses the output of an older redis-benchmark (no percentiles)', () => {
    expect(() => parseRedisBenchmarkCsv('"PING_INLINE","27027.03"\n')).toThrow(/redis-benchmark 7/);
  });
});
