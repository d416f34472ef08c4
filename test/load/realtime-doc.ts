import { f, goalRows, runLines, sectionMarkers } from './benchmarks-doc';
import type { PhaseResult, RealtimeBenchResult } from './realtime.results';

/** The markers of the realtime section of docs/benchmarks.md. */
export const REALTIME_SECTION = sectionMarkers('realtime');

const kib = (bytes: number) => f(bytes / 1024, 1);

function phaseRow(p: PhaseResult): string {
  const b = p.broadcast.summary;
  const u = p.perUser?.summary;
  return `| ${p.name} | ${p.connect.connected} (${p.connect.failed} refused) | ${f(p.connect.perSecond, 0)} | ${f(p.connect.serverCpuUsPerConnect, 0)} | ${kib(p.rss.perSocketBytes)} | ${f(b.p50, 1)} / ${f(b.p99, 1)} | ${f(p.broadcast.serverCpuUsPerDelivery, 1)} | ${p.broadcast.delivered}/${p.broadcast.expected} | ${f(p.fanout.deliveriesPerSecond, 0)} | ${u ? `${f(u.p50)} / ${f(u.p99)}` : '–'} | ${f(100 * p.cpu.foreignShare, 0)}% |`;
}

/** The generated Markdown section for one realtime run. */
export function renderRealtimeSection(
  r: RealtimeBenchResult,
  reportPaths: { json: string; html: string },
): string {
  const m = r.machine;
  const s = r.settings;
  const probes = r.phases.filter((p) => p.presence || p.revoke);
  const cpuNames = ['server', 'clients', 'auth', 'redis', 'postgres', 'bench', 'other'];
  return [
    REALTIME_SECTION.begin,
    '## realtime: Socket.IO sockets, broadcast, presence and revocation',
    '',
    ...runLines(r),
    `- Versions: node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}`,
    `- Setup: realtime-service nodes (processes from the build, LOG_LEVEL=warn, default limits) against a bare Socket.IO 4.8 + @socket.io/redis-adapter server (\`test/load/realtime-baseline-server.ts\`: rooms only, no auth), each with ${s.sockets} sockets on one node, then ${s.sockets / 2} on each of two. Clients are socket.io-client (WebSocket transport) in ${s.workers} processes on the same cores, connected straight to the nodes (no nginx), ${s.concurrency} connects in flight per process. Ours: ${s.users} members (one created through the users API, the others SQL copies of its row, decision 021), each logged in once at auth-service, ${s.socketsPerUser} sockets per user (the per-user cap), alternating over the nodes.`,
    `- Measures: connect rate (connected ÷ wall time of the connect round; server CPU per connect from /proc over the same round, subscription included); RSS per idle socket ((RSS with every socket connected and subscribed, then ${s.settleMs / 1000} s idle) − (RSS before the first) summed over the nodes, ÷ sockets); broadcast: ${s.broadcasts} messages to the channel every socket is subscribed to, one at a time, latency from just before the publishing POST to each delivery; fan-out: ${s.fanoutBurst} broadcasts back to back, deliveries ÷ time to the last; per-user: ${s.userMessages} messages to \`/users/{id}/messages\`, one every ${s.userIntervalMs} ms, latency to each of the user's sockets (on both nodes); presence: ${s.presenceCycles} connect/disconnect cycles of a user on node 1 seen by an observer on node 2; revocation: ${s.revokes} sessions with a socket on each node, logout at auth-service, timed to the later disconnect.`,
    `- Reports: \`${reportPaths.json}\`, \`${reportPaths.html}\``,
    '',
    '| phase | sockets | connects/s | server CPU µs/connect | RSS KiB/socket | broadcast p50 / p99 ms | server CPU µs/delivery | delivered | fan-out deliveries/s | per-user p50 / p99 ms | foreign CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.phases.map(phaseRow),
    '',
    ...(probes.length > 0
      ? [
          '| phase | presence join p50 / p99 ms | presence leave p50 / p99 ms | revoke → cut p50 / p99 ms | logout 204 p50 / p99 ms | session:revoked seen |',
          '|---|---:|---:|---:|---:|---:|',
          ...probes.map((p) => {
            const j = p.presence?.join.summary;
            const l = p.presence?.leave.summary;
            const c = p.revoke?.toDisconnect.summary;
            const a = p.revoke?.logoutAnswer.summary;
            return `| ${p.name} | ${j ? `${f(j.p50)} / ${f(j.p99)}` : '–'} | ${l ? `${f(l.p50)} / ${f(l.p99)}` : '–'} | ${c ? `${f(c.p50)} / ${f(c.p99)}` : '–'} | ${a ? `${f(a.p50)} / ${f(a.p99)}` : '–'} | ${p.revoke ? `${p.revoke.revokedEventsSeen}/${2 * p.revoke.cycles}` : '–'} |`;
          }),
          '',
        ]
      : []),
    'CPU seconds per phase by component ("server" = the Socket.IO processes under test, "other" = busy time no listed process accounts for, i.e. other work on the machine; "foreign CPU" above is "other" as a share of the machine capacity (cores × wall time)):',
    '',
    `| phase | wall s | ${cpuNames.join(' | ')} |`,
    `|---|---:|${cpuNames.map(() => '---:').join('|')}|`,
    ...r.phases.map(
      (p) =>
        `| ${p.name} | ${f(p.cpu.wallMs / 1000, 1)} | ${cpuNames.map((c) => f((p.cpu.groupsMs[c] ?? 0) / 1000, 1)).join(' | ')} |`,
    ),
    '',
    ...goalRows(r.goals),
    REALTIME_SECTION.end,
  ].join('\n');
}
