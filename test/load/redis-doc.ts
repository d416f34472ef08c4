import { f, goalRows, runLines, sectionMarkers } from './benchmarks-doc';
import type { RedisBenchResult } from './redis.results';
import { BASELINE, n, OURS, pageHead, table } from './report-html';
import type { RedisBenchmarkLine } from './redis-benchmark';
import { esc, groupedBars } from './svg-charts';

/** The generated Markdown section for one redis run. */
export function renderRedisSection(r: RedisBenchResult, reportPaths: { json: string; html: string }): string {
  const { begin, end } = sectionMarkers('redis');
  const s = r.settings;
  const lat = (x: RedisBenchmarkLine) => `${f(x.latencyMs.p50, 3)} / ${f(x.latencyMs.p99, 3)}`;
  return [
    begin,
    '## redis: redis-benchmark, the floor under revocation and presence',
    '',
    ...runLines(r),
    `- Versions: Redis ${r.machine.redis}, redis-benchmark ${r.redisBenchmarkVersion}`,
    `- Load: \`redis-benchmark -h ${s.host} -p ${s.port} -k 1 --csv\` with each command on the run's private key or channel (deleted afterwards), ${s.requests} requests at ${s.clients} connections, then ${s.sequentialRequests} at one connection (one round trip at a time: what a revoke's SET and PUBLISH each cost at best). PUBLISH goes to a channel nobody subscribed to. Reference figures: no goal.`,
    `- Reports: \`${reportPaths.json}\`, \`${reportPaths.html}\``,
    '',
    `| command | req/s, ${s.clients} connections | p50 / p99 ms, ${s.clients} connections | req/s, 1 connection | p50 / p99 ms, 1 connection |`,
    '|---|---:|---:|---:|---:|',
    ...r.commands.map(
      (c) =>
        `| ${c.name} | ${f(c.parallel.requestsPerSecond, 0)} | ${lat(c.parallel)} | ${f(c.sequential.requestsPerSecond, 0)} | ${lat(c.sequential)} |`,
    ),
    ...(r.goals.length > 0 ? ['', ...goalRows(r.goals)] : []),
    end,
  ].join('\n');
}

/** One row of the HTML table: a command at one concurrency. */
function htmlRow(command: string, clients: number, x: RedisBenchmarkLine): string[] {
  const l = x.latencyMs;
  return [
    command,
    String(clients),
    n(x.requestsPerSecond, 0),
    n(l.p50, 3),
    n(l.p95, 3),
    n(l.p99, 3),
    n(l.max, 3),
  ];
}

/** The self-contained HTML report (inline CSS and SVG only). */
export function renderRedisHtml(r: RedisBenchResult): string {
  const s = r.settings;
  return `${pageHead('Concord redis-benchmark reference', r)}
<p>${esc(`Redis ${r.machine.redis}, redis-benchmark ${r.redisBenchmarkVersion}; ${s.requests} requests at ${s.clients} connections, ${s.sequentialRequests} at one.`)}</p>
${table(
  ['command', 'connections', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
  r.commands.flatMap((c) => [htmlRow(c.command, s.clients, c.parallel), htmlRow(c.command, 1, c.sequential)]),
)}
${groupedBars(
  'p99 latency by command',
  r.commands.map((c) => c.name),
  [
    {
      name: `${s.clients} connections`,
      color: BASELINE,
      values: r.commands.map((c) => c.parallel.latencyMs.p99),
    },
    { name: '1 connection', color: OURS, values: r.commands.map((c) => c.sequential.latencyMs.p99) },
  ],
  'ms',
)}
</body></html>
`;
}
