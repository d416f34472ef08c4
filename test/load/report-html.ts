import { FOREIGN_CPU_WARNING } from './auth-throughput';
import type { AuthBenchResult, Goal, ThroughputPass } from './auth.results';
import type { ProfileSummary } from './cpu-profile';
import { histogram } from './stats';
import { esc, groupedBars, histogramChart } from './svg-charts';

/** Series colours of every report. */
export const OURS = '#e15759';
export const BASELINE = '#76b7b2';
export const PEER = '#f28e2b';
/** Component order of the CPU tables; "other" is busy time no listed process accounts for. */
export const CPU_COMPONENTS = ['service', 'nginx', 'wrk', 'postgres', 'redis', 'bench', 'other'];

/** A number for display, `–` when not finite. */
export function n(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

/** An HTML table of escaped cells. */
export function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

/**
 * One ours-vs-baseline throughput pass: table, per-round throughput, percentiles, CPU. `heading`
 * and `label` (in chart titles) default to the auth /me pass at its log level.
 */
export function passSection(
  p: ThroughputPass,
  replicas: number,
  heading = `GET /api/v1/auth/me at LOG_LEVEL=${p.logLevel}`,
  label = p.logLevel,
  sides = { ours: `ours (${replicas} replicas)`, baseline: `baseline (${replicas} bare express)` },
): string {
  const rounds = [...new Set(p.runs.map((r) => r.round))];
  const rpsOf = (target: string) =>
    rounds.map(
      (round) => p.runs.find((r) => r.round === round && r.target === target)?.wrk.requestsPerSecond ?? 0,
    );
  const pct = ['p50', 'p90', 'p99', 'p99.9'];
  const lat = (s: ThroughputPass['ours']) => [
    s.latencyMs.p50,
    s.latencyMs.p90,
    s.latencyMs.p99,
    s.latencyMs.p999,
  ];
  const series = [
    { name: 'ours', color: OURS, label: sides.ours, summary: p.ours },
    { name: 'baseline', color: BASELINE, label: sides.baseline, summary: p.baseline },
    ...(p.peer
      ? [
          {
            name: 'peer',
            color: PEER,
            label: `peer app (${replicas} express + jose)`,
            summary: p.peer.summary,
          },
        ]
      : []),
  ];
  const service = (s: ThroughputPass['ours']) => n(s.cpuMsPer1kRequests.service ?? Number.NaN, 0);
  return `
<h2>${esc(heading)}: ratio ${n(p.ratio, 3)}${p.peer ? `, ours ÷ peer ${n(p.peer.ratio, 3)}` : ''}</h2>
${table(
  ['', 'req/s (median)', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'service CPU µs/req'],
  series.map((x) => [
    x.label,
    n(x.summary.requestsPerSecond, 0),
    ...lat(x.summary).map((v) => n(v)),
    service(x.summary),
  ]),
)}
<p>Paired ratio (geometric mean of the per-round ratios ${p.roundRatios.map((x) => n(x, 3)).join(', ')}): ${n(p.pairedRatio, 3)}.${p.peer ? ` Ours ÷ peer app: ${n(p.peer.ratio, 3)} of medians, paired ${n(p.peer.pairedRatio, 3)} (${p.peer.roundRatios.map((x) => n(x, 3)).join(', ')}).` : ''}</p>
<p>Replica log output: ${n(p.logBytesPerRequest, 0)} bytes per request. CPU used by processes outside the benchmark: ${n(100 * p.foreignCpuShare, 0)}% of the busy time${p.foreignCpuShare > FOREIGN_CPU_WARNING ? ' — <strong>the machine was busy with other work; absolute figures read low</strong>' : ''}.</p>
${groupedBars(
  `Throughput per round (${label})`,
  rounds.map((r) => `round ${r}`),
  series.map((x) => ({ name: x.name, color: x.color, values: rpsOf(x.name) })),
  'req/s',
)}
${groupedBars(
  `Latency percentiles, median of rounds (${label})`,
  pct,
  series.map((x) => ({ name: x.name, color: x.color, values: lat(x.summary) })),
  'ms',
)}
${groupedBars(
  `CPU per 1000 requests by component (${label})`,
  CPU_COMPONENTS,
  series.map((x) => ({
    name: x.name,
    color: x.color,
    values: CPU_COMPONENTS.map((c) => x.summary.cpuMsPer1kRequests[c] ?? 0),
  })),
  'CPU ms',
)}`;
}

/** The reports' inline stylesheet. */
export const STYLE = `<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left}.met{color:#1a7f37}.missed{color:#c62828}svg{display:block;margin:1rem 0}
code{background:#f4f4f4;padding:0 .2rem}
</style>`;

/** What every report's page head shows of a run. */
export interface RunIdentity {
  command: string;
  startedAt: string;
  finishedAt: string;
  build: { commit: string; dirty: boolean; builtAt: string };
}

/** The page up to and including the run line: doctype, inline style, title, command, dates, code. */
export function pageHead(title: string, r: RunIdentity): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} ${esc(r.startedAt)}</title>
${STYLE}</head><body>
<h1>${esc(title)}</h1>
<p><code>${esc(r.command)}</code> — ${esc(r.startedAt)} to ${esc(r.finishedAt)}; code ${esc(r.build.commit)}${r.build.dirty ? ' + uncommitted changes' : ''}, built ${esc(r.build.builtAt)}</p>`;
}

/** The goals table with met / missed colours and the inconclusive notes. */
export function goalsTable(goals: readonly Goal[]): string {
  return `<h2>Goals</h2>
<table><thead><tr><th>goal</th><th>target</th><th>measured</th><th>met</th></tr></thead><tbody>
${goals.map((g) => `<tr><td>${esc(g.name)}</td><td>${esc(g.target)}</td><td>${n(g.value, 3)}</td><td class="${g.met ? 'met' : 'missed'}">${g.met ? 'yes' : 'no'}${g.inconclusive ? ` (inconclusive: ${esc(g.inconclusive)})` : ''}</td></tr>`).join('')}
</tbody></table>`;
}

/** Where the replicas' CPU went (`--cpu-prof`), or nothing. */
export function profileHtml(profile: ProfileSummary | undefined): string {
  return profile
    ? `<h2>Replica CPU profile (self time, idle excluded)</h2>
${table(
  ['package', '%'],
  profile.byPackage.map((e) => [e.name, n(e.percent, 1)]),
)}
${table(
  ['function', '%'],
  profile.byFunction.map((e) => [e.name, n(e.percent, 1)]),
)}`
    : '';
}

/** The self-contained HTML report (inline CSS and SVG only). */
export function renderHtmlReport(r: AuthBenchResult): string {
  const m = r.machine;
  const rv = r.revoke.summary;
  return `${pageHead('Concord auth benchmark', r)}
<p>${esc(`${m.nproc} CPUs (${m.cpuModel}), ${m.ramGiB} GiB RAM, Linux ${m.kernel}; node ${m.node}, nginx ${m.nginx}, PostgreSQL ${m.postgres}, Redis ${m.redis}, wrk ${m.wrk}; load average at start ${m.loadAverage1m.toFixed(2)}`)}</p>
<p>${esc(`wrk -t${r.settings.wrk.threads} -c${r.settings.wrk.connections} -d${r.settings.wrk.durationSeconds}s over TLS (HTTP/1.1 keep-alive) through nginx; ${r.settings.rounds} alternating rounds after a ${r.settings.wrk.warmupSeconds}s warm-up each; ${r.settings.replicas} auth replicas vs ${r.settings.replicas} bare express processes, each behind its own identically rendered nginx.`)}</p>
${goalsTable(r.goals)}
${r.passes.map((p) => passSection(p, r.settings.replicas)).join('\n')}
<h2>Revoke latency by verifying replicas (${esc(r.revoke.via)})</h2>
${table(
  ['replicas', 'logouts', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms', 'accepted after 204'],
  r.revokeCurve.map((c) => {
    const x = c.summary;
    return [
      String(c.replicas),
      String(x.count),
      n(x.p50),
      n(x.p90),
      n(x.p99),
      n(x.max),
      n(x.mean),
      String(c.violations),
    ];
  }),
)}
${groupedBars(
  'Logout latency by verifying replicas',
  r.revokeCurve.map((c) => `${c.replicas} replicas`),
  [
    { name: 'p50', color: BASELINE, values: r.revokeCurve.map((c) => c.summary.p50) },
    { name: 'p99', color: OURS, values: r.revokeCurve.map((c) => c.summary.p99) },
  ],
  'ms',
)}
<p>Logouts answered at ${r.revoke.replicas} replicas, by replica: ${esc(
    Object.entries(r.revoke.byReplica)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
  )}</p>
${histogramChart(
  `Logout (revoke) latency, ${r.revoke.replicas} replicas`,
  histogram(r.revoke.samplesMs, 40),
  'ms',
  [
    { label: 'p50', value: rv.p50, color: '#333' },
    { label: 'p99', value: rv.p99, color: OURS },
  ],
)}
${profileHtml(r.profile)}
</body></html>
`;
}
