/** Small descriptive statistics for benchmark samples (no dependencies, exact on small sets). */

/** Count, extremes, mean and the percentiles the reports use; all in the samples' unit. */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One histogram bar: samples in `[from, to)`; the last bar also holds everything above `to`. */
export interface Bin {
  from: number;
  to: number;
  count: number;
}

/** Median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Nearest-rank percentile of an ascending array: the smallest sample with at least `p`% of the
 * samples at or below it. Nearest-rank, not interpolation, so p99 of 200 samples is a real
 * observation (the 198th) rather than a value nobody measured.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** {@link Summary} of `values`. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const total = sorted.reduce((sum, v) => sum + v, 0);
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    mean: sorted.length > 0 ? total / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Equal-width bins from the minimum up to `ceiling` (default: the p99 × 1.5, so one slow outlier
 * does not squash every other bar into the first bin); anything above lands in the last bin.
 */
export function histogram(values: readonly number[], binCount = 30, ceiling?: number): Bin[] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  const lo = sorted[0]!;
  const hi = Math.max(
    lo + 1e-9,
    Math.min(sorted[sorted.length - 1]!, ceiling ?? percentile(sorted, 99) * 1.5),
  );
  const width = (hi - lo) / binCount;
  const bins: Bin[] = Array.from({ length: binCount }, (_, i) => ({
    from: lo + i * width,
    to: lo + (i + 1) * width,
    count: 0,
  }));
  for (const v of sorted) bins[Math.min(binCount - 1, Math.floor((v - lo) / width))]!.count++;
  return bins;
}

/** Rounds for display without trailing noise (`digits` decimals). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
