import { createRecorder } from './recorder';
import { progressLine, startProgress } from './progress';

describe('the progress line', () => {
  it('shows elapsed time, operations, errors, p50 and p99 so far', () => {
    let t = 0;
    const recorder = createRecorder({ now: () => t });
    recorder.start();
    for (let i = 1; i <= 100; i++) recorder.record('me', i * 1000, i % 25 === 0 ? 'http 503' : 'ok');
    t = 12_500;

    const line = progressLine(recorder.snapshot({ series: false }), 60, 8);

    // Successes are 1…99 ms without 25, 50 and 75: the 48th of 96 is 49 ms.
    expect(line).toBe('  12.5s/60s  ops     100  errors 4 (4.00%)  p50 49.0ms  p99 99.0ms  8/s');
    recorder.destroy();
  });

  it('on a terminal, redraws one line in place; elsewhere writes whole lines', () => {
    const recorder = createRecorder();
    const tty: string[] = [];
    const log: string[] = [];

    startProgress({
      snapshot: () => recorder.snapshot(),
      durationSeconds: 1,
      mode: 'auto',
      stream: { isTTY: true, write: (s) => tty.push(s) },
    })();
    startProgress({
      snapshot: () => recorder.snapshot(),
      durationSeconds: 1,
      mode: 'auto',
      stream: { write: (s) => log.push(s) },
    })();

    expect(tty[0]!.startsWith('\r\u001b[2K[load] ')).toBe(true);
    expect(tty.at(-1)).toBe('\n');
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^\[load\] .*\n$/);
    recorder.destroy();
  });

  it('with --progress never, writes nothing', () => {
    const out: string[] = [];
    startProgress({
      snapshot: () => createRecorder().snapshot(),
      durationSeconds: 1,
      mode: 'never',
      stream: { write: (s) => out.push(s) },
    })();
    expect(out).toEqual([]);
  });
});
