import { esc, histogramChart } from '../svg-charts';
import { horizontalBars, lineChart } from './charts';
import type { LoadResult } from './result';

/** Colours of the report (Tableau 10, readable for the common colour-vision deficiencies). */
export const REPORT_COLORS = {
  throughput: '#4e79a7',
  errors: '#e15759',
  p50: '#59a14f',
  p90: '#f28e2b',
  p99: '#e15759',
  errorBars: '#e15759',
} as const;

function n(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

function table(head: string[], rows: string[][], className = ''): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  return `<table class="${className}"><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function figure(name: string, body: string, caption: string): string {
  return `<figure data-chart="${name}">${body}<figcaption>${esc(caption)}</figcaption></figure>`;
}

/** The self-contained HTML report of one run (inline CSS and SVG; no script, no network). */
export function renderLoadReport(r: LoadResult): string {
  const s = r.summary;
  const width = r.series.length > 1 ? r.series[1]!.t - r.series[0]!.t : 1;
  const x = r.series.map((p) => p.t);
  const sloRows = r.slo.map((v) => [
    `<code>${esc(v.slo)}</code>`,
    esc(v.actual === null ? '–' : v.slo.includes('%') ? `${n(v.actual * 100, 3)}%` : n(v.actual, 3)),
    `<span class="${v.met ? 'met' : 'missed'}">${v.met ? 'met' : 'missed'}</span>${v.detail ? ` (${esc(v.detail)})` : ''}`,
  ]);
  const errorRows = Object.entries(r.errorsByKind)
    .sort((a, b) => b[1] - a[1])
    .map(([label, value]) => ({ label, value }));
  const opRows = Object.entries(r.operations).map(([name, o]) => [
    esc(name),
    String(o.requests),
    String(o.errors),
    n(o.throughput, 1),
    n(o.latency.p50),
    n(o.latency.p90),
    n(o.latency.p99),
    n(o.latency.max),
  ]);
  const counters = Object.entries(r.counters);
  const verdict = r.slo.length === 0 ? 'no --slo given' : r.passed ? 'every SLO met' : 'SLO missed';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Concord load: ${esc(r.scenario)} ${esc(r.startedAt)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left}.met{color:#1a7f37;font-weight:600}.missed{color:#c62828;font-weight:600}
figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}code{background:#f4f4f4;padding:0 .2rem}
.headline{display:flex;gap:1.5rem;flex-wrap:wrap}.headline div{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem}
.headline b{display:block;font-size:1.4rem}
</style></head><body>
<h1>Concord load test: ${esc(r.scenario)}</h1>
<p><code>${esc(r.command)}</code></p>
<p>Target ${esc(r.target)}; ${esc(r.startedAt)} to ${esc(r.finishedAt)}; ${esc(`${r.machine.hostname}, ${r.machine.nproc} CPUs (${r.machine.cpuModel}), node ${r.machine.node}, load average ${r.machine.loadAverage1m.toFixed(2)}`)}</p>
<p>${esc(
    `${r.settings.model} model, ${r.settings.users} users${r.settings.rate === null ? '' : `, ${r.settings.rate}/s`}, ${r.settings.durationSeconds} s, ${r.settings.sources} source address(es); latency ${
      r.settings.correction === 'intended-start'
        ? 'measured from each iteration’s intended start (coordinated omission corrected by schedule)'
        : 'corrected afterwards for coordinated omission (expected interval = median service time)'
    }.`,
  )}</p>
<div class="headline">
<div>operations<b>${s.requests}</b></div><div>errors<b>${s.errors} (${n(s.errorRate * 100, 3)}%)</b></div>
<div>throughput<b>${n(s.throughput, 1)}/s</b></div><div>p50<b>${n(s.latency.p50)} ms</b></div>
<div>p99<b>${n(s.latency.p99)} ms</b></div><div>max<b>${n(s.latency.max)} ms</b></div>
<div>verdict<b class="${r.slo.length === 0 ? '' : r.passed ? 'met' : 'missed'}">${esc(verdict)}</b></div>
</div>
${r.slo.length > 0 ? `<h2>SLOs</h2>${table(['SLO', 'measured', 'verdict'], sloRows, 'slo')}` : ''}
<h2>Over time</h2>
${figure(
  'throughput',
  lineChart({
    title: 'Throughput',
    x,
    series: [
      {
        name: 'operations/s',
        color: REPORT_COLORS.throughput,
        values: r.series.map((p) => p.requests / width),
      },
      { name: 'errors/s', color: REPORT_COLORS.errors, values: r.series.map((p) => p.errors / p.seconds) },
    ],
    unit: 'per second',
  }),
  `Operations finished per second (interval ${width} s).`,
)}
${figure(
  'latency-over-time',
  lineChart({
    title: 'Latency percentiles',
    x,
    series: [
      { name: 'p50', color: REPORT_COLORS.p50, values: r.series.map((p) => p.p50) },
      { name: 'p90', color: REPORT_COLORS.p90, values: r.series.map((p) => p.p90) },
      { name: 'p99', color: REPORT_COLORS.p99, values: r.series.map((p) => p.p99) },
    ],
    unit: 'ms',
  }),
  'Percentiles of the successful operations that finished in each interval.',
)}
<h2>Latency distribution</h2>
${figure(
  'histogram',
  histogramChart('Latency histogram, all successful operations', r.histogram, 'ms', [
    { label: 'p50', value: s.latency.p50, color: '#333' },
    { label: 'p99', value: s.latency.p99, color: REPORT_COLORS.p99 },
  ]),
  'Up to the p99.5; the last bar also holds everything slower.',
)}
<h2>Errors</h2>
${
  errorRows.length > 0
    ? figure(
        'errors',
        horizontalBars('Errors by kind', errorRows, REPORT_COLORS.errorBars),
        'Operation: outcome, and counted failures.',
      )
    : '<p data-chart="errors" class="met">No errors.</p>'
}
<h2>Operations</h2>
${table(['operation', 'count', 'errors', 'per s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], opRows)}
${
  counters.length > 0
    ? `<h2>Counters</h2>${table(
        ['counter', 'value'],
        counters.map(([k, v]) => [esc(k), String(v)]),
      )}`
    : ''
}
${r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.map((line) => `<li>${esc(line)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
