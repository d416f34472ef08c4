import { f, goalRows, sectionMarkers } from './benchmarks-doc';
import type { CasSide, SettingsBenchResult } from './settings.results';

/** Components of the CAS CPU table ("pgbench" is its client; "bench" drives our 16 clients). */
export const CAS_CPU_COMPONENTS = [
  'service',
  'auth',
  'nginx',
  'postgres',
  'redis',
  'pgbench',
  'bench',
  'other',
];

/** The generated Markdown section for one settings run. */
export function renderSettingsSection(
  r: SettingsBenchResult,
  reportPaths: { json: string; html: string },
): string {
  const { begin, end } = sectionMarkers('settings');
  const m = r.machine;
  const s = r.settings;
  const c = r.cas;
  const h = r.hotKey;
  const side = (name: string, x: CasSide | undefined, extra: string) =>
    x
      ? `| ${name} | ${f(x.commitsPerSecond, 0)} | ${f(x.latencyMs.p50)} / ${f(x.latencyMs.p99)} | ${f(x.databaseTransactionsPerCommit, 1)} | ${extra} |`
      : `| ${name} | – | – | – | ${extra} |`;
  const rounds = (t: string) =>
    c.runs
      .filter((x) => x.target === t)
      .map((x) => f(x.commitsPerSecond, 0))
      .join(', ');
  const foreignGet = Math.max(0, ...r.get.map((g) => g.pass.foreignCpuShare));
  const lines = [
    begin,
    '## settings: compare-and-swap against pgbench, hot key, GET with ETag',
    '',
    `- Command: \`${r.command}\``,
    `- Date: ${r.startedAt} (finished ${r.finishedAt})`,
    `- Machine: ${m.nproc} CPUs, ${m.cpuModel}, ${m.ramGiB} GiB RAM, Linux ${m.kernel}; load average ${f(m.loadAverage1m)} at start`,
    `- Code: commit ${r.build.commit}${r.build.dirty ? ' plus uncommitted changes in libs/ or services/' : ''}, build from ${r.build.builtAt}`,
    `- Versions: node ${m.node}, nginx ${m.nginx}, PostgreSQL ${m.postgres}, Redis ${m.redis}, wrk ${m.wrk}, pgbench ${c.pgbenchVersion ?? '**not installed**'}`,
    `- Setup: ${s.settingsReplicas} settings-service replicas (LOG_LEVEL=${s.logLevel}, outbox relay on, per-user limit on and raised) behind the nginx rendered by \`proxy/gateway\` (TLS, keep-alive); everything, the clients included, on this one machine.`,
    `- CAS: ${c.clients} clients, each a loop of GET (ETag) then PUT value+1 with \`If-Match\` on a random one of ${c.keys} seeded \`bench\` keys, retrying the same key on 412. pgbench: ${c.clients} clients (\`-M prepared\`: each statement parsed once per connection, as the service's named statements are) on a private migrated database seeded alike, each transaction a SELECT of value and revision then the service's own CAS statement (\`casSql('outbox')\`: revision check, history and outbox rows) in autocommit. ${s.warmupSeconds}s warm-up each, then ${s.rounds} rounds of ${s.durationSeconds}s back to back, alternating which goes first; medians reported. A commit is a 200 (ours) or a history row written (pgbench); latency is one read-modify-write.`,
    `- Reports: \`${reportPaths.json}\`, \`${reportPaths.html}\``,
    '',
    '| CAS, spread keys | commits/s (median) | p50 / p99 ms | database transactions per commit | per round |',
    '|---|---:|---:|---:|---|',
    side('ours (GET + PUT through nginx)', c.ours, rounds('ours')),
    side('pgbench (SELECT + CAS statement)', c.pgbench, c.pgbenchMissing ?? rounds('pgbench')),
    '',
    `Ratio ours ÷ pgbench: ${c.ratio === undefined ? '– (no pgbench)' : `${f(c.ratio, 3)} (ratio of medians), ${f(c.pairedRatio ?? Number.NaN, 3)} (paired: ${c.roundRatios.map((x) => f(x, 3)).join(', ')})`}. ` +
      `Lost updates: ${c.lostUpdates.lost} (${c.lostUpdates.acknowledged} 200s on ${c.lostUpdates.keysWritten} keys, every key's final value checked; ${c.lostUpdates.unacknowledged} committed without a 200, ${c.lostAnswers} 502/504). ` +
      (c.pgbenchCheck
        ? `pgbench's table: ${c.pgbenchCheck.historyRows} history rows, values sum to ${c.pgbenchCheck.sumOfIncrements}. `
        : '') +
      `Foreign CPU during the CAS rounds: ${f(100 * c.foreignCpuShare, 0)}%.`,
    '',
    'CPU milliseconds per 1000 commits by component ("service" the settings replicas, "auth" the auth replica following the events, "bench" this process driving our clients; "other" is busy time no listed process accounts for):',
    '',
    `| side | ${CAS_CPU_COMPONENTS.join(' | ')} |`,
    `|---|${CAS_CPU_COMPONENTS.map(() => '---:').join('|')}|`,
    ...(['ours', 'pgbench'] as const).flatMap((t) => {
      const x = c[t];
      return x
        ? [`| ${t} | ${CAS_CPU_COMPONENTS.map((k) => f(x.cpuMsPer1kCommits[k] ?? 0, 0)).join(' | ')} |`]
        : [];
    }),
    '',
    `Hot key: ${h.writers} writers on one key for ${f(h.seconds, 1)}s, GET then PUT \`If-Match\`, again on 412 (foreign CPU ${f(100 * h.foreignCpuShare, 0)}%):`,
    '',
    '| commits/s | 412 rate (of PUTs) | PUTs per commit | p50 / p99 ms of the read-modify-write that committed | final value / 200s | lost updates |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${f(h.commitsPerSecond, 0)} | ${f(100 * h.conflictRate, 1)}% | ${f(h.attemptsPerCommit)} | ${f(h.latencyMs.p50)} / ${f(h.latencyMs.p99)} | ${h.finalValue} / ${h.commits} | ${h.lostUpdates.lost} |`,
    '',
    `GET of one bench key with its ETag, \`wrk -t${s.wrk.threads} -c${s.wrk.connections} -d${s.durationSeconds}s\`, against ${s.settingsReplicas} bare express 5 processes serving the same bytes and ETag behind an identically rendered nginx (${s.warmupSeconds}s warm-up, ${s.rounds} alternating rounds, medians; foreign CPU up to ${f(100 * foreignGet, 0)}%):`,
    '',
    '| request | ours req/s | bare req/s | ratio of medians | paired ratio (per round) | ours p50 / p99 ms | bare p50 / p99 ms | service CPU ms / 1k req, ours / bare |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...r.get.map(
      ({ variant, pass: p }) =>
        `| ${variant === '304' ? '`If-None-Match` → 304' : 'plain → 200'} | ${f(p.ours.requestsPerSecond, 0)} | ${f(p.baseline.requestsPerSecond, 0)} | ${f(p.ratio, 3)} | ${f(p.pairedRatio, 3)} (${p.roundRatios.map((x) => f(x)).join(', ')}) | ${f(p.ours.latencyMs.p50)} / ${f(p.ours.latencyMs.p99)} | ${f(p.baseline.latencyMs.p50)} / ${f(p.baseline.latencyMs.p99)} | ${f(p.ours.cpuMsPer1kRequests.service ?? 0, 0)} / ${f(p.baseline.cpuMsPer1kRequests.service ?? 0, 0)} |`,
    ),
    '',
    ...goalRows(r.goals),
    end,
  ];
  return lines.join('\n');
}
