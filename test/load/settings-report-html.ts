import { CAS_CPU_COMPONENTS } from './settings-doc';
import { BASELINE, goalsTable, n, OURS, pageHead, passSection, profileHtml, table } from './report-html';
import type { CasRun, SettingsBenchResult } from './settings.results';
import { esc, groupedBars } from './svg-charts';

function runRow(r: CasRun): string[] {
  return [
    `${r.target} ${r.round === 0 ? 'warm-up' : `round ${r.round}`}`,
    n(r.seconds, 1),
    String(r.commits),
    n(r.commitsPerSecond, 0),
    String(r.conflicts),
    n(r.latencyMs.p50),
    n(r.latencyMs.p99),
    n(r.databaseTransactionsPerCommit, 1),
    n((100 * (r.cpu.groupsMs.other ?? 0)) / Math.max(1, r.cpu.machineBusyMs), 0),
  ];
}

/** The self-contained HTML report of `npm run bench -- settings` (inline CSS and SVG only). */
export function renderSettingsHtmlReport(r: SettingsBenchResult): string {
  const m = r.machine;
  const s = r.settings;
  const c = r.cas;
  const h = r.hotKey;
  const rounds = Array.from({ length: s.rounds }, (_, i) => i + 1);
  const rate = (t: string) =>
    rounds.map((round) => c.runs.find((x) => x.round === round && x.target === t)?.commitsPerSecond ?? 0);
  const cpu = (t: 'ours' | 'pgbench') => CAS_CPU_COMPONENTS.map((k) => c[t]?.cpuMsPer1kCommits[k] ?? 0);
  return `${pageHead('Concord settings benchmark', r)}
<p>${esc(`${m.nproc} CPUs (${m.cpuModel}), ${m.ramGiB} GiB RAM, Linux ${m.kernel}; node ${m.node}, nginx ${m.nginx}, PostgreSQL ${m.postgres}, Redis ${m.redis}, wrk ${m.wrk}, pgbench ${c.pgbenchVersion ?? 'not installed'}; load average at start ${m.loadAverage1m.toFixed(2)}`)}</p>
<p>${esc(`${s.settingsReplicas} settings replicas at LOG_LEVEL=${s.logLevel} behind nginx (TLS, keep-alive); ${s.clients} clients; ${s.keys} bench keys; ${s.warmupSeconds}s warm-up, ${s.rounds} alternating rounds of ${s.durationSeconds}s.`)}</p>
${goalsTable(r.goals)}
<h2>CAS on ${c.keys} keys: ours ÷ pgbench ${c.ratio === undefined ? '–' : n(c.ratio, 3)}</h2>
${c.pgbenchMissing ? `<p class="missed">${esc(c.pgbenchMissing)}</p>` : ''}
${table(
  [
    'run',
    's',
    'commits',
    'commits/s',
    'conflicts',
    'p50 ms',
    'p99 ms',
    'db transactions/commit',
    'foreign CPU %',
  ],
  c.runs.map(runRow),
)}
<p>${esc(`Paired ratio ${c.pairedRatio === undefined ? '–' : n(c.pairedRatio, 3)} (${c.roundRatios.map((x) => n(x, 3)).join(', ')}). Lost updates ${c.lostUpdates.lost} of ${c.lostUpdates.acknowledged} acknowledged writes on ${c.lostUpdates.keysWritten} keys; ${c.lostUpdates.unacknowledged} committed without a 200; ${c.lostAnswers} 502/504.`)}</p>
${groupedBars(
  'CAS commits per second per round',
  rounds.map((x) => `round ${x}`),
  [
    { name: 'ours', color: OURS, values: rate('ours') },
    { name: 'pgbench', color: BASELINE, values: rate('pgbench') },
  ],
  'commits/s',
)}
${groupedBars(
  'CPU per 1000 commits by component',
  CAS_CPU_COMPONENTS,
  [
    { name: 'ours', color: OURS, values: cpu('ours') },
    { name: 'pgbench', color: BASELINE, values: cpu('pgbench') },
  ],
  'CPU ms',
)}
${c.script ? `<details><summary>pgbench script</summary><pre>${esc(c.script)}</pre></details>` : ''}
<h2>Hot key: ${h.writers} writers</h2>
${table(
  ['commits/s', '412 rate', 'PUTs per commit', 'p50 ms', 'p99 ms', 'final value', '200s', 'lost updates'],
  [
    [
      n(h.commitsPerSecond, 0),
      `${n(100 * h.conflictRate, 1)}%`,
      n(h.attemptsPerCommit),
      n(h.latencyMs.p50),
      n(h.latencyMs.p99),
      String(h.finalValue),
      String(h.commits),
      String(h.lostUpdates.lost),
    ],
  ],
)}
${r.get
  .map((g) =>
    passSection(
      g.pass,
      s.settingsReplicas,
      `GET with ETag, ${g.variant === '304' ? 'If-None-Match → 304' : 'plain → 200'}`,
      `GET ${g.variant}`,
      { ours: `ours (${s.settingsReplicas} replicas)`, baseline: `bare express (${s.settingsReplicas})` },
    ),
  )
  .join('\n')}
${profileHtml(r.profile)}
</body></html>
`;
}
