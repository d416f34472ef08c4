import { parseLoadArgs } from '../options';
import { createRecorder } from '../recorder';
import { buildResult, type LoadResult } from '../result';

/**
 * A {@link LoadResult} of a synthetic 10-second run (driven clock, no network): latencies that rise
 * towards the end, and two error kinds. Enough for every chart of the report to have something
 * to draw.
 */
export function sampleResult(options: { errors?: boolean } = {}): LoadResult {
  let t = 0;
  const recorder = createRecorder({ now: () => t });
  recorder.start();
  for (let i = 0; i < 2_000; i++) {
    t = i * 5; // 200 operations per second for 10 s
    const latencyUs = 2_000 + (i % 50) * 100 + (i > 1_500 ? 20_000 : 0);
    const failed = options.errors !== false && i % 97 === 0;
    recorder.record(
      i % 3 === 0 ? 'login' : 'me',
      latencyUs,
      failed ? (i % 2 ? 'http 503 SERVICE_UNAVAILABLE' : 'timeout') : 'ok',
    );
  }
  t = 10_000;
  const parsed = parseLoadArgs(
    [
      'me',
      '--target',
      'https://localhost:8443',
      '--rate',
      '200',
      '--duration',
      '10s',
      '--slo',
      'p99<50ms,errors<0.1%',
    ],
    {
      outDir: '/tmp',
      stateDir: '/tmp',
    },
  );
  if (parsed.help) throw new Error('unreachable');
  const result = buildResult({
    options: parsed.options,
    command: 'npm run load -- me --target https://localhost:8443 --rate 200 --duration 10s',
    startedAt: new Date('2026-12-01T08:00:00Z'),
    finishedAt: new Date('2026-12-01T08:00:10Z'),
    snapshot: recorder.snapshot(),
    histograms: recorder.histograms(),
    workload: { started: 2_000, dropped: 0, elapsedMs: 10_000 },
    sources: 32,
    notes: ['synthetic run for the report tests'],
  });
  recorder.destroy();
  return result;
}
