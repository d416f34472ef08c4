import { f } from './benchmarks-doc';
import { goalsTable, pageHead, table } from './report-html';
import type { PhaseResult, RealtimeBenchResult } from './realtime.results';
import { histogram } from './stats';
import { esc, groupedBars, histogramChart } from './svg-charts';

const OURS = '#e15759';
const BARE = '#76b7b2';
const SHARDED = '#f28e2b';

function colorOf(p: PhaseResult): string {
  if (p.side === 'bare') return BARE;
  return p.adapter === 'sharded' ? SHARDED : OURS;
}

/** Per-phase bars: one series per phase so ours and bare sit side by side. */
function bars(
  r: RealtimeBenchResult,
  title: string,
  unit: string,
  value: (p: PhaseResult) => number,
): string {
  return groupedBars(
    title,
    [''],
    r.phases.map((p) => ({ name: p.name, color: colorOf(p), values: [value(p)] })),
    unit,
  );
}

function latencyHistograms(p: PhaseResult): string {
  const b = p.broadcast;
  const parts = [
    histogramChart(`Broadcast delivery latency, ${p.name}`, histogram(b.samplesMs, 40), 'ms', [
      { label: 'p50', value: b.summary.p50, color: '#333' },
      { label: 'p99', value: b.summary.p99, color: colorOf(p) },
    ]),
  ];
  if (p.perUser)
    parts.push(
      histogramChart(`Per-user message latency, ${p.name}`, histogram(p.perUser.samplesMs, 40), 'ms', [
        { label: 'p99', value: p.perUser.summary.p99, color: colorOf(p) },
        { label: 'goal', value: 5, color: '#1a7f37' },
      ]),
    );
  if (p.revoke)
    parts.push(
      histogramChart(
        `Revocation → disconnect on both nodes, ${p.name}`,
        histogram(p.revoke.toDisconnect.samplesMs, 30),
        'ms',
        [
          { label: 'p99', value: p.revoke.toDisconnect.summary.p99, color: colorOf(p) },
          { label: 'goal', value: 25, color: '#1a7f37' },
        ],
      ),
    );
  return parts.join('\n');
}

/** The self-contained HTML report of a realtime run (inline CSS and SVG only). */
export function renderRealtimeHtml(r: RealtimeBenchResult): string {
  const m = r.machine;
  const s = r.settings;
  return `${pageHead('Concord realtime benchmark', r)}
<p>${esc(`${m.nproc} CPUs (${m.cpuModel}), ${m.ramGiB} GiB RAM, Linux ${m.kernel}; node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}; load average at start ${m.loadAverage1m.toFixed(2)}`)}</p>
<p>${esc(`${s.sockets} sockets per phase from ${s.workers} socket.io-client processes on the same machine; ${s.users} users × ${s.socketsPerUser} sockets for ours; baseline: bare Socket.IO + redis-adapter, rooms only.`)}</p>
${goalsTable(r.goals)}
<h2>Phases</h2>
${table(
  [
    'phase',
    'connected',
    'connects/s',
    'server CPU µs/connect',
    'RSS KiB/socket',
    'broadcast p50 ms',
    'broadcast p99 ms',
    'fan-out deliveries/s',
    'per-user p99 ms',
    'foreign CPU',
  ],
  r.phases.map((p) => [
    p.name,
    `${p.connect.connected}`,
    f(p.connect.perSecond, 0),
    f(p.connect.serverCpuUsPerConnect, 0),
    f(p.rss.perSocketBytes / 1024, 1),
    f(p.broadcast.summary.p50, 1),
    f(p.broadcast.summary.p99, 1),
    f(p.fanout.deliveriesPerSecond, 0),
    p.perUser ? f(p.perUser.summary.p99) : '–',
    `${f(100 * p.cpu.foreignShare, 0)}%`,
  ]),
)}
${bars(r, 'Connect rate', 'connects/s', (p) => p.connect.perSecond)}
${bars(r, 'RSS per idle socket', 'KiB', (p) => p.rss.perSocketBytes / 1024)}
${groupedBars(
  'Broadcast delivery latency to every socket',
  ['p50', 'p99'],
  r.phases.map((p) => ({
    name: p.name,
    color: colorOf(p),
    values: [p.broadcast.summary.p50, p.broadcast.summary.p99],
  })),
  'ms',
)}
${bars(r, 'Fan-out throughput (burst)', 'deliveries/s', (p) => p.fanout.deliveriesPerSecond)}
${r.phases.map(latencyHistograms).join('\n')}
</body></html>
`;
}
