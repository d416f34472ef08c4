import * as hdr from 'hdr-histogram-js';

/**
 * What a run measures: per operation an HdrHistogram of latencies (microseconds), outcomes by kind,
 * scenario counters (412 conflicts, lost updates, …) and a time series of fixed intervals for the
 * charts. Latencies are recorded by the caller from the request's *intended* start (see
 * workload.ts), so the histograms are already corrected for coordinated omission where a schedule
 * exists.
 */

/** Longest latency the histograms keep exactly (longer ones are clamped): 10 minutes. */
const HIGHEST_US = 600_000_000;

/** One interval of the time series. */
export interface IntervalSample {
  /** Seconds since the measurement started (interval start). */
  t: number;
  /** Seconds the interval covers (less than the width for the last one, cut at the snapshot). */
  seconds: number;
  requests: number;
  errors: number;
  /** Latency percentiles of the operations that finished in this interval, ms; null when none. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Latency summary of one operation or of all of them, in ms. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** Outcome of one recorded operation: `'ok'` or an error kind (`http_503`, `timeout`, …). */
export type Outcome = 'ok' | string;

/** A histogram bar (ms). */
export interface LatencyBin {
  from: number;
  to: number;
  count: number;
}

/** What {@link Recorder.snapshot} returns. */
export interface RecorderSnapshot {
  elapsedSeconds: number;
  requests: number;
  errors: number;
  latency: LatencySummary;
  operations: Record<string, { requests: number; errors: number; latency: LatencySummary }>;
  errorsByKind: Record<string, number>;
  counters: Record<string, number>;
  series: IntervalSample[];
  histogram: LatencyBin[];
}

function newHistogram(digits: 2 | 3 = 3): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: digits,
    // Packed counts for the many small interval histograms; plain 32-bit ones where speed matters.
    bitBucketSize: digits === 2 ? 'packed' : 32,
    autoResize: false,
  });
}

const ms = (us: number) => Math.round(us) / 1000;

/** Summary of `h` in milliseconds (NaN-free: zeros when empty). */
export function summarizeHistogram(h: hdr.Histogram): LatencySummary {
  const empty = h.totalCount === 0;
  const at = (p: number) => (empty ? 0 : ms(h.getValueAtPercentile(p)));
  return {
    count: h.totalCount,
    min: empty ? 0 : ms(h.minNonZeroValue),
    mean: empty ? 0 : ms(h.mean),
    p50: at(50),
    p75: at(75),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: empty ? 0 : ms(h.maxValue),
  };
}

/**
 * Equal-width bins from 0 up to the p99.5 (so one stall does not squash every other bar into the
 * first one); the last bin also holds everything above.
 */
export function latencyBins(h: hdr.Histogram, binCount = 40): LatencyBin[] {
  if (h.totalCount === 0) return [];
  const ceilingUs = Math.max(h.getValueAtPercentile(99.5), 1);
  const width = ceilingUs / binCount;
  const bins: LatencyBin[] = Array.from({ length: binCount }, (_, i) => ({
    from: ms(i * width),
    to: ms((i + 1) * width),
    count: 0,
  }));
  // Walk the recorded values rather than re-deriving from percentiles: exact per bucket.
  if (!(h instanceof hdr.JsHistogram)) throw new Error('latencyBins needs a JS histogram');
  const iter = h.recordedValuesIterator;
  iter.reset();
  while (iter.hasNext()) {
    const v = iter.next();
    const i = Math.min(binCount - 1, Math.floor(v.valueIteratedTo / width));
    bins[i]!.count += v.countAtValueIteratedTo;
  }
  return bins;
}

interface Interval {
  requests: number;
  errors: number;
  histogram: hdr.Histogram;
}

/** Options of {@link createRecorder}. */
export interface RecorderOptions {
  /** Monotonic clock in ms (performance.now by default). */
  now?: () => number;
  /** Width of one time-series interval, ms (default 1000). */
  intervalMs?: number;
}

/** The run's measurements; see the file comment. */
export interface Recorder {
  /** Starts the clock of the time series (recording before it counts into interval 0). */
  start(): void;
  /** Records one finished operation: its latency (µs) and outcome. */
  record(op: string, latencyUs: number, outcome: Outcome): void;
  /** Adds `n` to a scenario counter (not a request: e.g. `conflicts_412`, `lost_updates`). */
  count(name: string, n?: number): void;
  /** Records an error that is not a request of its own (e.g. a revoked token accepted). */
  error(kind: string, n?: number): void;
  /** Everything so far (cheap enough for a once-a-second progress line). */
  snapshot(options?: { series?: boolean }): RecorderSnapshot;
  /** Latency histograms, all operations and per operation (for coordinated-omission post-correction). */
  histograms(): { total: hdr.Histogram; operations: Map<string, hdr.Histogram> };
  /** Frees the histograms. */
  destroy(): void;
}

/** Builds a {@link Recorder}. */
export function createRecorder(options: RecorderOptions = {}): Recorder {
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? 1000;
  let startedAt = now();
  const total = newHistogram();
  const ops = new Map<string, { requests: number; errors: number; histogram: hdr.Histogram }>();
  const errorsByKind = new Map<string, number>();
  const counters = new Map<string, number>();
  const intervals: Interval[] = [];
  let requests = 0;
  let errors = 0;

  function intervalAt(t: number): Interval {
    const index = Math.max(0, Math.floor((t - startedAt) / intervalMs));
    while (intervals.length <= index) {
      // Two significant digits are plenty for a chart and keep each interval small.
      intervals.push({ requests: 0, errors: 0, histogram: newHistogram(2) });
    }
    return intervals[index]!;
  }

  const addError = (kind: string, n: number) => {
    errors += n;
    errorsByKind.set(kind, (errorsByKind.get(kind) ?? 0) + n);
    intervalAt(now()).errors += n;
  };

  return {
    start() {
      startedAt = now();
      intervals.length = 0;
    },
    record(op, latencyUs, outcome) {
      const value = Math.min(HIGHEST_US, Math.max(1, Math.round(latencyUs)));
      let entry = ops.get(op);
      if (!entry) {
        entry = { requests: 0, errors: 0, histogram: newHistogram() };
        ops.set(op, entry);
      }
      entry.requests++;
      requests++;
      const interval = intervalAt(now());
      interval.requests++;
      if (outcome !== 'ok') {
        entry.errors++;
        addError(`${op}: ${outcome}`, 1);
        // Failed requests are counted but kept out of the latency figures: a fast 503 would
        // otherwise make a failing service look quick.
        return;
      }
      entry.histogram.recordValue(value);
      total.recordValue(value);
      interval.histogram.recordValue(value);
    },
    count(name, n = 1) {
      counters.set(name, (counters.get(name) ?? 0) + n);
    },
    error(kind, n = 1) {
      addError(kind, n);
    },
    snapshot(opts = {}) {
      const operations: RecorderSnapshot['operations'] = {};
      for (const [name, e] of ops) {
        operations[name] = {
          requests: e.requests,
          errors: e.errors,
          latency: summarizeHistogram(e.histogram),
        };
      }
      const elapsedMs = now() - startedAt;
      const series =
        opts.series === false
          ? []
          : intervals.map((i, index) => {
              const has = i.histogram.totalCount > 0;
              const at = (p: number) => (has ? ms(i.histogram.getValueAtPercentile(p)) : null);
              const covered = Math.min(intervalMs, Math.max(1, elapsedMs - index * intervalMs));
              return {
                t: (index * intervalMs) / 1000,
                seconds: covered / 1000,
                requests: i.requests,
                errors: i.errors,
                p50: at(50),
                p90: at(90),
                p99: at(99),
              };
            });
      return {
        elapsedSeconds: elapsedMs / 1000,
        requests,
        errors,
        latency: summarizeHistogram(total),
        operations,
        errorsByKind: Object.fromEntries(errorsByKind),
        counters: Object.fromEntries(counters),
        series,
        histogram: opts.series === false ? [] : latencyBins(total),
      };
    },
    histograms: () => ({
      total,
      operations: new Map([...ops].map(([name, e]) => [name, e.histogram])),
    }),
    destroy() {
      total.destroy();
      for (const e of ops.values()) e.histogram.destroy();
      for (const i of intervals) i.histogram.destroy();
    },
  };
}
