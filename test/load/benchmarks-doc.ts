import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AuthBenchResult, Goal } from './auth.results';
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
section between its markers; the analysis below a section is written by hand.
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

/** The goals table every section ends with. */
export function goalRows(goals: readonly Goal[]): string[] {
  return [
    '| goal | target | measured | met |',
    '|---|---|---:|---|',
    ...goals.map(
      (g) =>
        `| ${g.name} | ${g.target} | ${f(g.value, 3)} | ${g.met ? 'yes' : '**no**'}${g.inconclusive ? ` (inconclusive: ${g.inconclusive})` : ''} |`,
    ),
  ];
}

/** The generated Markdown section for one auth run. */
export function renderAuthSection(r: AuthBenchResult, reportPaths: { json: string; html: string }): string {
  const m = r.machine;
  const s = r.settings;
  const rv = r.revoke.summary;
  const lines = [
    BEGIN,
    '## auth: `GET /api/v1/auth/me` throughput and revoke latency',
    '',
    ...runLines(r),
    `- Versions: node ${m.node}, nginx ${m.nginx}, PostgreSQL ${m.postgres}, Redis ${m.redis}, wrk ${m.wrk}`,
    `- Setup: ${s.replicas} auth-service replicas vs ${s.replicas} bare express 5 processes (\`{ok:true}\`), each set behind its own nginx rendered by \`proxy/gateway\` with identical options (TLS, HTTP/1.1 keep-alive, JSON access log); everything, wrk included, on this one machine.`,
    `- Load: \`wrk -t${s.wrk.threads} -c${s.wrk.connections} -d${s.wrk.durationSeconds}s --latency\` with the same bearer token on both sides; ${s.wrk.warmupSeconds}s warm-up each, then ${s.rounds} rounds of back-to-back pairs, alternating which side goes first; medians reported. The paired ratio is the geometric mean of the per-round ratios; the ratio goal counts as met only when both ratios reach it. Any non-2xx/3xx or socket error fails the run.`,
    `- Reports: \`${reportPaths.json}\`, \`${reportPaths.html}\``,
    '',
    '| replica LOG_LEVEL | ours req/s | baseline req/s | ratio of medians | paired ratio (per round) | ours p50 / p99 ms | baseline p50 / p99 ms | log bytes/req | foreign CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.passes.map(
      (p) =>
        `| ${p.logLevel} | ${f(p.ours.requestsPerSecond, 0)} | ${f(p.baseline.requestsPerSecond, 0)} | ${f(p.ratio, 3)} | ${f(p.pairedRatio, 3)} (${p.roundRatios.map((x) => f(x)).join(', ')}) | ${f(p.ours.latencyMs.p50)} / ${f(p.ours.latencyMs.p99)} | ${f(p.baseline.latencyMs.p50)} / ${f(p.baseline.latencyMs.p99)} | ${f(p.logBytesPerRequest, 0)} | ${f(100 * p.foreignCpuShare, 0)}% |`,
    ),
    '',
    '"Foreign CPU" is the share of the busy CPU time no benchmark process accounts for (other work on the machine); above 10% the figures are unreliable and goal verdicts are marked inconclusive.',
    '',
    'CPU milliseconds per 1000 requests by component ("service" = the auth replicas or the bare processes; "other" = busy time no listed process accounts for):',
    '',
    `| LOG_LEVEL | side | ${CPU_COMPONENTS.join(' | ')} |`,
    `|---|---|${CPU_COMPONENTS.map(() => '---:').join('|')}|`,
    ...r.passes.flatMap((p) =>
      (['ours', 'baseline'] as const).map(
        (side) =>
          `| ${p.logLevel} | ${side} | ${CPU_COMPONENTS.map((c) => f(p[side].cpuMsPer1kRequests[c] ?? 0, 0)).join(' | ')} |`,
      ),
    ),
    '',
    `Revoke latency, ${rv.count} sequential login → logout (only the logout timed), via ${r.revoke.via}:`,
    '',
    '| p50 ms | p90 ms | p99 ms | max ms |',
    '|---:|---:|---:|---:|',
    `| ${f(rv.p50)} | ${f(rv.p90)} | ${f(rv.p99)} | ${f(rv.max)} |`,
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
