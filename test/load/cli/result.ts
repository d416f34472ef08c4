import os from 'node:os';
import type * as hdr from 'hdr-histogram-js';
import { latencyBins, summarizeHistogram, type LatencySummary, type RecorderSnapshot } from './recorder';
import type { LoadOptions } from './options';
import { judgeSlos, type SloFigures, type SloVerdict } from './slo';
import type { WorkloadResult } from './workload';

/** The JSON result of one run (`<scenario>-<time>.json`); the HTML report is drawn from it. */
export interface LoadResult {
  tool: 'concord-load';
  version: 1;
  scenario: string;
  command: string;
  target: string;
  startedAt: string;
  finishedAt: string;
  machine: { hostname: string; nproc: number; cpuModel: string; node: string; loadAverage1m: number };
  settings: {
    model: LoadOptions['model'];
    users: number;
    rate: number | null;
    durationSeconds: number;
    maxRequests: number;
    sources: number;
    /** How latencies were corrected for coordinated omission. */
    correction: 'intended-start' | 'expected-interval';
  };
  summary: {
    requests: number;
    errors: number;
    errorRate: number;
    /** Operations per second over the measured time. */
    throughput: number;
    elapsedSeconds: number;
    iterations: number;
    dropped: number;
    latency: LatencySummary;
    /** The raw service times where the correction was applied afterwards, else the same as latency. */
    latencyUncorrected: LatencySummary;
  };
  operations: Record<
    string,
    { requests: number; errors: number; throughput: number; latency: LatencySummary }
  >;
  errorsByKind: Record<string, number>;
  counters: Record<string, number>;
  series: RecorderSnapshot['series'];
  histogram: RecorderSnapshot['histogram'];
  slo: SloVerdict[];
  passed: boolean;
  notes: string[];
}

/**
 * A back-to-back closed loop has no schedule to measure from, so its histograms are corrected
 * afterwards, as HdrHistogram's `copyCorrectedForCoordinatedOmission` does: a sample longer than
 * the expected interval implies the samples the stalled user would have taken meanwhile. The
 * expected interval is the operation's own median service time.
 */
export function correctedSummary(h: hdr.Histogram): { summary: LatencySummary; histogram: hdr.Histogram } {
  if (h.totalCount === 0) return { summary: summarizeHistogram(h), histogram: h };
  const expected = Math.max(1, h.getValueAtPercentile(50));
  const corrected = h.copyCorrectedForCoordinatedOmission(expected);
  return { summary: summarizeHistogram(corrected), histogram: corrected };
}

/** Builds the {@link LoadResult} (and judges the SLOs). */
export function buildResult(input: {
  options: LoadOptions;
  command: string;
  startedAt: Date;
  finishedAt: Date;
  snapshot: RecorderSnapshot;
  histograms: { total: hdr.Histogram; operations: Map<string, hdr.Histogram> };
  workload: WorkloadResult;
  sources: number;
  notes: string[];
}): LoadResult {
  const { options: o, snapshot: s } = input;
  const postCorrect = o.model === 'closed' && o.rate === undefined;
  const elapsedSeconds = input.workload.elapsedMs / 1000;
  const total = postCorrect ? correctedSummary(input.histograms.total) : undefined;
  const operations: LoadResult['operations'] = {};
  for (const [name, op] of Object.entries(s.operations)) {
    const h = input.histograms.operations.get(name);
    operations[name] = {
      requests: op.requests,
      errors: op.errors,
      throughput: elapsedSeconds > 0 ? op.requests / elapsedSeconds : 0,
      latency: postCorrect && h ? correctedSummary(h).summary : op.latency,
    };
  }
  const figures = (requests: number, errors: number, latency: LatencySummary): SloFigures => ({
    requests,
    errors,
    elapsedSeconds,
    latency,
  });
  const latency = total?.summary ?? s.latency;
  const slo = judgeSlos(
    o.slo,
    figures(s.requests, s.errors, latency),
    Object.fromEntries(
      Object.entries(operations).map(([k, v]) => [k, figures(v.requests, v.errors, v.latency)]),
    ),
  );
  const histogram = total ? latencyBins(total.histogram) : s.histogram;
  if (total && total.histogram !== input.histograms.total) total.histogram.destroy();
  return {
    tool: 'concord-load',
    version: 1,
    scenario: o.scenario,
    command: input.command,
    target: o.target,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    machine: {
      hostname: os.hostname(),
      nproc: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverage1m: os.loadavg()[0] ?? 0,
    },
    settings: {
      model: o.model,
      users: o.users,
      rate: o.rate ?? null,
      durationSeconds: o.durationMs / 1000,
      maxRequests: o.maxRequests,
      sources: input.sources,
      correction: postCorrect ? 'expected-interval' : 'intended-start',
    },
    summary: {
      requests: s.requests,
      errors: s.errors,
      errorRate: s.requests > 0 ? s.errors / s.requests : 0,
      throughput: elapsedSeconds > 0 ? s.requests / elapsedSeconds : 0,
      elapsedSeconds,
      iterations: input.workload.started,
      dropped: input.workload.dropped,
      latency,
      latencyUncorrected: s.latency,
    },
    operations,
    errorsByKind: s.errorsByKind,
    counters: s.counters,
    series: s.series,
    histogram,
    slo,
    passed: slo.every((v) => v.met),
    notes: input.notes,
  };
}
