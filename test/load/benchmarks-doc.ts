import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AuthBenchResult, Goal, TargetSummary, ThroughputPass } from './auth.results';
import type { BuildInfo } from './build-info';
import type { MachineInfo } from './machine';
import { CPU_COMPONENTS } from './report-html';

/** The markers around one scenario's generated section of docs/benchmarks.md. */
export interface SectionMarkers {
  begin: string;
  end: string;
}

/** The markers of scenario `name`. */
export function sectionMarkers(name: string): SectionMarkers {
  return {
    begin: `<!-- bench:${name}:begin (written by \`npm run bench -- ${name}\`; edits inside are overwritten) -->`,
    end: `<!-- bench:${name}:end -->`,
  };
}

const AUTH_SECTION = sectionMarkers('auth');
const BEGIN = AUTH_SECTION.begin;
const END = AUTH_SECTION.end;

const HEADER = `# Benchmarks

Figures measured on a named machine by the scripts in \`test/load/\`. Each scenario rewrites its own
section between its markers; the analysis below a section is written by hand. \`npm run bench\` runs
every scenario and then regenerates the summary table of every goal at the top of this page from
the JSON results the sections name.
`;

/** A figure for the tables: fixed digits, or a dash when it could not be measured. */
export function f(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

/** The Command / Date / Machine / Code lines every section starts with. */
export function runLines(r: {
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  build: BuildInfo;
}): string[] {
  const m = r.machine;
  return [
    `- Command: \`${r.command}\``,
    `- Date: ${r.startedAt} (finished ${r.finishedAt})`,
    `- Machine: ${m.nproc} CPUs, ${m.cpuModel}, ${m.ramGiB} GiB RAM, Linux ${m.kernel}; load average ${f(m.loadAverage1m)} at start`,
    `- Code: commit ${r.build.commit}${r.build.dirty ? ' plus uncommitted changes in libs/ or services/' : ''}, build from ${r.build.builtAt}`,
  ];
}

/** A goal's value: counts as integers, anything else to three decimals. */
export function goalValue(v: number): string {
  return Number.isInteger(v) ? String(v) : f(v, 3);
}

/** The goals table every section ends with. */
export function goalRows(goals: readonly Goal[]): string[] {
  return [
    '| goal | target | measured | met |',
    '|---|---|---:|---|',
    ...goals.map(
      (g) =>
        `| ${g.name} | ${g.target} | ${goalValue(g.value)} | ${g.met ? 'yes' : '**no**'}${g.inconclusive ? ` (inconclusive: ${g.inconclusive})` : ''} |`,
    ),
  ];
}

/** `ours p50 / p99` of one side, or a dash. */
function latency(t: TargetSummary | undefined): string {
  return t ? `${f(t.latencyMs.p50)} / ${f(t.latencyMs.p99)}` : '–';
}

/** One throughput pass as a row of the auth table. */
function passRow(p: ThroughputPass): string {
  const cpu = (t: TargetSummary | undefined) => (t ? f(t.cpuMsPer1kRequests.service ?? Number.NaN, 0) : '–');
  const peer = p.peer;
  return [
    '',
    p.logLevel,
    f(p.ours.requestsPerSecond, 0),
    f(p.baseline.requestsPerSecond, 0),
    peer ? f(peer.summary.requestsPerSecond, 0) : '–',
    `${f(p.ratio, 3)} / ${f(p.pairedRatio, 3)} (${p.roundRatios.map((x) => f(x)).join(', ')})`,
    peer
      ? `${f(peer.ratio, 3)} / ${f(peer.pairedRatio, 3)} (${peer.roundRatios.map((x) => f(x)).join(', ')})`
      : '–',
    `${cpu(p.ours)} / ${cpu(p.baseline)} / ${cpu(peer?.summary)}`,
    latency(p.ours),
    latency(p.baseline),
    latency(peer?.summary),
    f(p.logBytesPerRequest, 0),
    `${f(100 * p.foreignCpuShare, 0)}%`,
    '',
  ]
    .join(' | ')
    .trim();
}

/** The generated Markdown section for one auth run. */
export function renderAuthSection(r: AuthBenchResult, reportPaths: { json: string; html: string }): string {
  const m = r.machine;
  const s = r.settings;
  const sides = (p: ThroughputPass) =>
    [
      ['ours', p.ours],
      ['bare', p.baseline],
      ['peer', p.peer?.summary],
    ].filter((x): x is [string, TargetSummary] => x[1] !== undefined);
  const lines = [
    BEGIN,
    '## auth: `GET /api/v1/auth/me` throughput and revoke latency',
    '',
    ...runLines(r),
    `- Versions: node ${m.node}, nginx ${m.nginx}, PostgreSQL ${m.postgres}, Redis ${m.redis}, wrk ${m.wrk}`,
    `- Setup: ${s.replicas} auth-service replicas vs ${s.replicas} bare express 5 processes (\`{ok:true}\`, on ${s.baselineServer === 'express' ? "Express's own server, `http.createServer(app)`" : "Concord's server factory (`--baseline-server concord`)"}) vs, at LOG_LEVEL=${s.logLevels[0]}, ${s.replicas} peer-app processes (express 5 verifying the JWT with jose \`jwtVerify\` on every request: EdDSA only, \`typ\`, issuer, audience, expiry, key set fetched once from auth-service's JWKS; the same \`{id, username, role, session_id}\` body from the claims; no revocation check), each set behind its own nginx rendered by \`proxy/gateway\` with identical options (TLS, HTTP/1.1 keep-alive, JSON access log); everything, wrk included, on this one machine.`,
    `- Load: \`wrk -t${s.wrk.threads} -c${s.wrk.connections} -d${s.wrk.durationSeconds}s --latency\` with one user's bearer token per wrk thread (${s.wrk.threads} users: the per-user API limit counts each apart), the same on every side; ${s.wrk.warmupSeconds}s warm-up each, then ${s.rounds} rounds of back-to-back runs, alternating which side goes first (the peer always in between); medians reported. The paired ratio is the geometric mean of the per-round ratios; a ratio goal counts as met only when both ratios reach it. Any non-2xx/3xx or socket error fails the run.`,
    `- Revoke: sequential login → logout through the gateway (only the logout timed; it answers 204 once every replica acknowledged); right after each 204 the revoked token goes to every replica directly (its own port, no nginx), and any 2xx counts as accepted after 204. Each point starts with 3 unmeasured logouts (on a fresh stack the replica registry is younger than one lease, and the first revoke waits the lease out by design). ${s.revokes} logouts at ${s.replicas} replicas (the LOG_LEVEL=${s.logLevels[0]} stack), ${s.curveRevokes} at each other replica count of the curve (a fresh stack each).`,
    `- Reports: \`${reportPaths.json}\`, \`${reportPaths.html}\``,
    '',
    '| replica LOG_LEVEL | ours req/s | bare req/s | peer req/s | ours ÷ bare: medians / paired (per round) | ours ÷ peer: medians / paired (per round) | service CPU µs/req ours / bare / peer | ours p50 / p99 ms | bare p50 / p99 ms | peer p50 / p99 ms | log bytes/req | foreign CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.passes.map(passRow),
    '',
    '"Foreign CPU" is the share of the busy CPU time no benchmark process accounts for (other work on the machine); above 10% the figures are unreliable and goal verdicts are marked inconclusive.',
    '',
    'CPU milliseconds per 1000 requests by component ("service" = the auth replicas, the bare processes or the peer processes; "other" = busy time no listed process accounts for):',
    '',
    `| LOG_LEVEL | side | ${CPU_COMPONENTS.join(' | ')} |`,
    `|---|---|${CPU_COMPONENTS.map(() => '---:').join('|')}|`,
    ...r.passes.flatMap((p) =>
      sides(p).map(
        ([side, t]) =>
          `| ${p.logLevel} | ${side} | ${CPU_COMPONENTS.map((c) => f(t.cpuMsPer1kRequests[c] ?? 0, 0)).join(' | ')} |`,
      ),
    ),
    '',
    `Revoke latency by number of verifying auth replicas, via ${r.revoke.via}:`,
    '',
    '| replicas | logouts | p50 ms | p90 ms | p99 ms | max ms | direct checks | accepted after 204 | direct answers |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.revokeCurve.map((c) => {
      const x = c.summary;
      const answers = Object.entries(c.directStatuses)
        .map(([status, n]) => `${status}: ${n}`)
        .join(', ');
      return `| ${c.replicas} | ${x.count} | ${f(x.p50)} | ${f(x.p90)} | ${f(x.p99)} | ${f(x.max)} | ${x.count * c.replicas} | ${c.violations} | ${answers} |`;
    }),
    '',
    ...goalRows(r.goals),
    END,
  ];
  return lines.join('\n');
}

/**
 * `text` with the section between `markers` replaced by `section` (which carries the markers), or
 * with `section` appended when the markers are not there yet (pure: the hand-written analysis
 * around a section survives every rewrite).
 */
export function replaceSection(text: string, markers: SectionMarkers, section: string): string {
  // The begin marker is matched without its note, so rewording the note does not duplicate it.
  const start = text.indexOf(markers.begin.slice(0, markers.begin.indexOf(' (')));
  const end = text.indexOf(markers.end);
  return start >= 0 && end > start
    ? `${text.slice(0, start)}${section}${text.slice(end + markers.end.length)}`
    : `${text.trimEnd()}\n\n${section}\n`;
}

/** Replaces one scenario's section of `file` (or appends it; creates the file with a header if needed). */
export function upsertSection(file: string, markers: SectionMarkers, section: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  writeFileSync(file, replaceSection(text, markers, section));
}

/** Replaces the auth section of `file` (or appends it; creates the file with a header if needed). */
export function upsertAuthSection(file: string, section: string): void {
  upsertSection(file, AUTH_SECTION, section);
}
