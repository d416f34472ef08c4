import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Goal, Reference } from './auth.results';
import { goalValue, replaceSection, sectionMarkers, type SectionMarkers } from './benchmarks-doc';

/**
 * The summary at the top of docs/benchmarks.md: one table of every goal of every scenario, built
 * from the scenarios' JSON results (decision 023). Each scenario's rows come from the JSON its own
 * section names on its `Reports:` line, so the summary and the sections always show the same run.
 */

/** Scenarios in the order of the summary (and of `npm run bench` with no arguments). */
export const SUMMARY_ORDER = ['auth', 'settings', 'realtime', 'redis'] as const;

/** The summary's markers. */
export const SUMMARY_MARKERS: SectionMarkers = {
  begin: '<!-- bench:summary:begin (written by every `npm run bench` run; edits inside are overwritten) -->',
  end: '<!-- bench:summary:end -->',
};

/** What the summary reads of any scenario's JSON result. */
export interface SummarySource {
  scenario: string;
  command: string;
  startedAt: string;
  goals: readonly Goal[];
  references?: readonly Reference[];
}

/** A result and the path (relative to the repository root) of its JSON file. */
export interface SummaryInput {
  source: SummarySource;
  json: string;
}

const HEAD = [
  '| goal | target | measured | baseline | verdict | date | scenario, run |',
  '|---|---|---|---|---|---|---|',
];

/** A table cell: pipes escaped, line breaks flattened. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The verdict cell: met, **missed**, or **inconclusive** with its reason. */
export function verdict(g: Goal): string {
  if (!g.inconclusive) return g.met ? 'met' : '**missed**';
  if (!Number.isFinite(g.value)) return `**inconclusive**: ${g.inconclusive}`;
  return `**inconclusive** (${g.met ? 'met' : 'missed'} as measured): ${g.inconclusive}`;
}

/** `2026-12-02T10:04:05.123Z` → `2026-12-02 10:04Z`. */
export function shortDate(iso: string): string {
  return /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso)?.slice(1, 3).join(' ').concat('Z') ?? iso;
}

/** A row of cells as a Markdown table line. */
function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** The summary rows of one result: its goals, then its reference figures (pure). */
export function summaryRows(input: SummaryInput): string[] {
  const s = input.source;
  const date = shortDate(s.startedAt);
  const run = `\`${s.scenario}\` \`${input.json}\``;
  return [
    ...s.goals.map((g) =>
      row([
        g.name,
        g.target,
        g.detail ? `${goalValue(g.value)} (${g.detail})` : goalValue(g.value),
        g.baseline ?? '–',
        verdict(g),
        date,
        run,
      ]),
    ),
    ...(s.references ?? []).map((r) =>
      row([r.name, '–', r.measured, r.baseline ?? '–', 'reference', date, run]),
    ),
  ];
}

/** The row of a scenario with no result to show, saying why. */
function missingRow(scenario: string, why = 'no result yet'): string {
  return row([`${why} (run \`npm run bench -- ${scenario}\`)`, '–', '–', '–', '–', '–', `\`${scenario}\``]);
}

/**
 * The rows of the summary already in `text`, by scenario (read from their last cell). Rows whose
 * cell count differs from today's table are dropped: they come from an older layout.
 */
export function existingRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  const start = text.indexOf(SUMMARY_MARKERS.begin.slice(0, SUMMARY_MARKERS.begin.indexOf(' (')));
  const end = text.indexOf(SUMMARY_MARKERS.end);
  if (start < 0 || end < start) return rows;
  const cells = (line: string) => line.split(/(?<!\\)\|/).length;
  for (const line of text.slice(start, end).split('\n')) {
    const scenario = /\| `([a-z]+)`[^|]*\|$/.exec(line)?.[1];
    if (scenario && cells(line) === cells(HEAD[0]!))
      rows.set(scenario, [...(rows.get(scenario) ?? []), line]);
  }
  return rows;
}

/** The JSON file a scenario's section of `text` names on its `Reports:` line, if it has a section. */
export function sectionResultPath(text: string, scenario: string): string | undefined {
  const m = sectionMarkers(scenario);
  const start = text.indexOf(m.begin.slice(0, m.begin.indexOf(' (')));
  const end = text.indexOf(m.end);
  if (start < 0 || end < start) return undefined;
  return /^- Reports: `([^`]+\.json)`/m.exec(text.slice(start, end))?.[1];
}

/** Options of {@link renderSummary}. */
export interface SummaryOptions {
  /** Results by scenario; a scenario without one keeps its rows from `previous`. */
  results: ReadonlyMap<string, SummaryInput>;
  /** The rows already in the document (see {@link existingRows}). */
  previous?: ReadonlyMap<string, readonly string[]>;
  /** Why a scenario has neither (default "no result yet"). */
  absent?: ReadonlyMap<string, string>;
  /** When and by which command the summary was written. */
  generatedAt: string;
  command: string;
}

/** The summary block with its markers (pure): every scenario of {@link SUMMARY_ORDER}, in order. */
export function renderSummary(o: SummaryOptions): string {
  const rows = SUMMARY_ORDER.flatMap((scenario) => {
    const result = o.results.get(scenario);
    if (result) return summaryRows(result);
    const kept = o.previous?.get(scenario);
    return kept && kept.length > 0 ? [...kept] : [missingRow(scenario, o.absent?.get(scenario))];
  });
  return [
    SUMMARY_MARKERS.begin,
    '## Summary: every goal, measured against its baseline',
    '',
    `Generated from each scenario's JSON result (the one its section below names), last by \`${o.command}\` on ${shortDate(o.generatedAt)}. Ratios are against baselines measured in the same run; verdicts: met, **missed**, **inconclusive** (a busy machine or not measured), reference (a figure without a goal). Figures beside a value are its context (e.g. service CPU per request).`,
    '',
    ...HEAD,
    ...rows,
    SUMMARY_MARKERS.end,
  ].join('\n');
}

/**
 * `text` with `summary` in place of its summary, or inserted before the first scenario section
 * (after the page's header) when it has none yet (pure).
 */
export function placeSummary(text: string, summary: string): string {
  if (text.includes(SUMMARY_MARKERS.end)) return replaceSection(text, SUMMARY_MARKERS, summary);
  const first = text.indexOf('<!-- bench:');
  if (first < 0) return `${text.trimEnd()}\n\n${summary}\n`;
  return `${text.slice(0, first)}${summary}\n\n${text.slice(first)}`;
}

/** Reads a result JSON, or undefined when the file is not there (e.g. a clone without `.run/`). */
function loadResult(root: string, json: string): SummaryInput | undefined {
  const file = path.join(root, json);
  if (!existsSync(file)) return undefined;
  return { source: JSON.parse(readFileSync(file, 'utf8')) as SummarySource, json };
}

/**
 * Rewrites the summary of `docsFile` from the results its sections name; returns, per scenario,
 * where its rows came from (for the progress output).
 */
export function refreshSummary(root: string, docsFile: string, command: string): Record<string, string> {
  const text = readFileSync(docsFile, 'utf8');
  const results = new Map<string, SummaryInput>();
  const absent = new Map<string, string>();
  const origin: Record<string, string> = {};
  for (const scenario of SUMMARY_ORDER) {
    const json = sectionResultPath(text, scenario);
    const loaded = json ? loadResult(root, json) : undefined;
    if (loaded) results.set(scenario, loaded);
    else if (json) absent.set(scenario, `its section's result ${json} is not in this checkout`);
    origin[scenario] = loaded ? json! : json ? `${json} missing, earlier rows kept` : 'no section yet';
  }
  const summary = renderSummary({
    results,
    previous: existingRows(text),
    absent,
    generatedAt: new Date().toISOString(),
    command,
  });
  writeFileSync(docsFile, placeSummary(text, summary));
  return origin;
}
