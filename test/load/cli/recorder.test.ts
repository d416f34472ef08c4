import { createRecorder } from './recorder';
import { redactCommand } from './run-load';

describe('createRecorder', () => {
  it('summarises latencies per operation and overall, in ms', () => {
    const recorder = createRecorder({ now: () => 0 });
    for (let i = 1; i <= 100; i++) recorder.record(i % 2 ? 'a' : 'b', i * 1000, 'ok');

    const s = recorder.snapshot();

    // HdrHistogram at 3 significant digits: within 0.1% of the exact percentile.
    expect(s.latency).toMatchObject({ count: 100, min: 1, max: 100 });
    expect(s.latency.p50).toBeCloseTo(50, 1);
    expect(s.latency.p99).toBeCloseTo(99, 1);
    expect(s.operations.a).toMatchObject({ requests: 50, errors: 0 });
    expect(s.operations.b!.latency.max).toBe(100);
    recorder.destroy();
  });

  it('counts failed operations by kind and keeps them out of the latency figures', () => {
    const recorder = createRecorder({ now: () => 0 });
    recorder.record('me', 5_000, 'ok');
    recorder.record('me', 1, 'http 503 SERVICE_UNAVAILABLE');
    recorder.record('me', 1, 'http 503 SERVICE_UNAVAILABLE');
    recorder.error('lost updates', 3);

    const s = recorder.snapshot();

    expect(s.requests).toBe(3);
    expect(s.errors).toBe(5);
    expect(s.errorsByKind).toEqual({ 'me: http 503 SERVICE_UNAVAILABLE': 2, 'lost updates': 3 });
    expect(s.latency).toMatchObject({ count: 1, min: 5, max: 5 });
    recorder.destroy();
  });

  it('puts each operation into the interval it finished in; the last interval covers only its part', () => {
    let t = 0;
    const recorder = createRecorder({ now: () => t, intervalMs: 1000 });
    recorder.start();
    t = 500;
    recorder.record('me', 1000, 'ok');
    t = 1500;
    recorder.record('me', 3000, 'ok');
    recorder.record('me', 3000, 'timeout');
    t = 1750;

    const s = recorder.snapshot();

    expect(s.series.map((i) => [i.t, i.seconds, i.requests, i.errors, Math.round(i.p50! * 10) / 10])).toEqual(
      [
        [0, 1, 1, 0, 1],
        [1, 0.75, 2, 1, 3],
      ],
    );
    recorder.destroy();
  });
});

describe('redactCommand', () => {
  it('does not repeat an admin password given on the command line', () => {
    expect(redactCommand('npm run load -- me --admin-password s3cret --users 2 --admin-password=x')).toBe(
      'npm run load -- me --admin-password *** --users 2 --admin-password=***',
    );
  });

  it('leaves a password file path alone (it is not the secret)', () => {
    expect(redactCommand('--admin-password-file /run/pw')).toBe('--admin-password-file /run/pw');
  });
});
