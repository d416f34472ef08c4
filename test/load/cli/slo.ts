/**
 * Service-level objectives on the command line: `--slo p99<50ms,errors<0.1%,rps>200`. Each clause
 * is `[operation:]metric comparator value[unit]`; the run's exit code is 2 when any is missed, so a
 * CI step fails on a regression without parsing the JSON.
 *
 * Metrics: latency percentiles `p50 p75 p90 p95 p99 p99.9`, `mean`, `max` (units `us`, `ms`, `s`;
 * default ms); `errors` as a rate with `%` or as a count without; `rps` (operations per second).
 * An operation prefix (`login:p99<300ms`) restricts a clause to one operation of the scenario.
 */

/** One parsed clause. */
export interface Slo {
  text: string;
  operation?: string;
  metric: SloMetric;
  comparator: '<' | '<=' | '>' | '>=';
  /** Latencies in ms, error rates as a fraction, counts and rps as given. */
  value: number;
  /** `errors` only: a rate (`%`) rather than a count. */
  rate?: boolean;
}

/** Every metric a clause may name. */
export type SloMetric = 'p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'p99.9' | 'mean' | 'max' | 'errors' | 'rps';

/** A clause that does not parse; the message names it and says what was expected. */
export class SloSyntaxError extends Error {
  override name = 'SloSyntaxError';
}

const CLAUSE =
  /^(?:([a-z0-9][a-z0-9._-]*):)?(p50|p75|p90|p95|p99\.9|p99|mean|max|errors|rps)(<=|>=|<|>)(\d+(?:\.\d+)?)(us|ms|s|%)?$/;
const UNIT_MS = { us: 0.001, ms: 1, s: 1000 } as const;

/** Parses a comma-separated list of clauses; throws {@link SloSyntaxError}. */
export function parseSlo(list: string): Slo[] {
  const clauses = list
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  if (clauses.length === 0) throw new SloSyntaxError('--slo is empty');
  return clauses.map((text) => {
    const m = CLAUSE.exec(text.replace(/\s+/g, ''));
    if (!m) {
      throw new SloSyntaxError(
        `--slo: cannot read "${text}" (expected e.g. p99<50ms, errors<0.1%, rps>100, login:p95<=300ms)`,
      );
    }
    const [, operation, metric, comparator, number, unit] = m as unknown as [
      string,
      string | undefined,
      SloMetric,
      Slo['comparator'],
      string,
      string | undefined,
    ];
    const n = Number(number);
    const base = { text, ...(operation ? { operation } : {}), metric, comparator };
    if (metric === 'errors') {
      if (unit !== undefined && unit !== '%')
        throw new SloSyntaxError(`--slo: "${text}": errors take % or a count`);
      return unit === '%' ? { ...base, value: n / 100, rate: true } : { ...base, value: n, rate: false };
    }
    if (metric === 'rps') {
      if (unit !== undefined) throw new SloSyntaxError(`--slo: "${text}": rps takes a plain number`);
      return { ...base, value: n };
    }
    if (unit === '%') throw new SloSyntaxError(`--slo: "${text}": a latency takes us, ms or s`);
    return { ...base, value: n * UNIT_MS[(unit ?? 'ms') as keyof typeof UNIT_MS] };
  });
}

/** The figures a clause is judged against (one operation, or the whole run). */
export interface SloFigures {
  requests: number;
  errors: number;
  elapsedSeconds: number;
  latency: {
    p50: number;
    p75: number;
    p90: number;
    p95: number;
    p99: number;
    p999: number;
    mean: number;
    max: number;
  };
}

/** A judged clause. */
export interface SloVerdict {
  slo: string;
  /** The measured value in the clause's unit (ms, a fraction, a count, rps); null when unknown. */
  actual: number | null;
  met: boolean;
  detail?: string;
}

function measured(slo: Slo, f: SloFigures): number | null {
  switch (slo.metric) {
    case 'errors':
      if (!slo.rate) return f.errors;
      return f.requests === 0 ? null : f.errors / f.requests;
    case 'rps':
      return f.elapsedSeconds > 0 ? f.requests / f.elapsedSeconds : null;
    case 'p99.9':
      return f.latency.p999;
    default:
      return f.latency[slo.metric];
  }
}

/**
 * Judges every clause. A latency clause over no successful operation, or a clause naming an
 * operation the run did not have, is *missed*: a CI gate must not pass on a run that measured
 * nothing.
 */
export function judgeSlos(
  slos: Slo[],
  total: SloFigures,
  operations: Record<string, SloFigures>,
): SloVerdict[] {
  return slos.map((slo) => {
    const figures = slo.operation === undefined ? total : operations[slo.operation];
    if (!figures) {
      return {
        slo: slo.text,
        actual: null,
        met: false,
        detail: `no operation "${slo.operation}" in this run`,
      };
    }
    const isLatency = slo.metric !== 'errors' && slo.metric !== 'rps';
    const okCount = figures.requests - figures.errors;
    const actual = isLatency && okCount <= 0 ? null : measured(slo, figures);
    if (actual === null) return { slo: slo.text, actual, met: false, detail: 'nothing was measured' };
    const met =
      slo.comparator === '<'
        ? actual < slo.value
        : slo.comparator === '<='
          ? actual <= slo.value
          : slo.comparator === '>'
            ? actual > slo.value
            : actual >= slo.value;
    return { slo: slo.text, actual, met };
  });
}
