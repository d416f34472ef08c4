import type { RecorderSnapshot } from './recorder';

/** The live line: elapsed, operations, errors, p50/p99 so far, recent rate. */
export function progressLine(s: RecorderSnapshot, durationSeconds: number, recentRate: number): string {
  const pct = s.requests > 0 ? ((100 * s.errors) / s.requests).toFixed(2) : '0.00';
  return (
    `${s.elapsedSeconds.toFixed(1).padStart(6)}s/${durationSeconds}s  ` +
    `ops ${String(s.requests).padStart(7)}  errors ${s.errors} (${pct}%)  ` +
    `p50 ${s.latency.p50.toFixed(1)}ms  p99 ${s.latency.p99.toFixed(1)}ms  ${recentRate.toFixed(0)}/s`
  );
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  snapshot(): RecorderSnapshot;
  durationSeconds: number;
  /** Where the line goes (stderr). */
  stream: { write(text: string): unknown; isTTY?: boolean };
  mode: 'auto' | 'always' | 'never';
}

/**
 * On a terminal the line is redrawn in place every second; elsewhere (CI logs) a plain line every
 * 10 s, so a long run still shows it is alive without flooding the log. Returns `stop`.
 */
export function startProgress(o: ProgressOptions): () => void {
  if (o.mode === 'never') return () => undefined;
  const tty = o.mode === 'always' || o.stream.isTTY === true;
  let last = { t: 0, requests: 0 };
  const tick = () => {
    const s = o.snapshot();
    const dt = s.elapsedSeconds - last.t;
    const rate = dt > 0 ? (s.requests - last.requests) / dt : 0;
    last = { t: s.elapsedSeconds, requests: s.requests };
    const line = progressLine(s, o.durationSeconds, rate);
    o.stream.write(tty ? `\r\x1b[2K[load] ${line}` : `[load] ${line}\n`);
  };
  const timer = setInterval(tick, tty ? 1_000 : 10_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    tick();
    if (tty) o.stream.write('\n');
  };
}
