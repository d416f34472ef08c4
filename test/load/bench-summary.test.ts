import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sectionMarkers } from './benchmarks-doc';
import {
  existingRows,
  placeSummary,
  refreshSummary,
  renderSummary,
  sectionResultPath,
  SUMMARY_MARKERS,
  summaryRows,
  type SummaryInput,
} from './bench-summary';

function auth(overrides: Partial<SummaryInput['source']> = {}): SummaryInput {
  return {
    json: '.run/bench/auth-2026-12-02T10-00-00-000Z.json',
    source: {
      scenario: 'auth',
      command: 'npm run bench',
      startedAt: '2026-12-02T10:00:00.000Z',
      goals: [
        {
          name: '/me req/s ours ÷ bare express at LOG_LEVEL=info',
          target: '≥ 0.9',
          value: 0.8123,
          met: false,
          baseline: '2 bare express 5 processes',
          detail: 'service CPU per request: ours 250 µs, bare 190 µs, peer 230 µs',
        },
        {
          name: 'revoked token accepted after the 204',
          target: '= 0',
          value: 0,
          met: true,
          baseline: 'absolute',
        },
        {
          name: 'revoke p99 with 8 verifying replicas',
          target: '≤ 15 ms',
          value: Number.NaN,
          met: false,
          inconclusive: 'not measured',
        },
        {
          name: 'revoke p99 with 2 verifying replicas',
          target: '≤ 10 ms',
          value: 7.5,
          met: true,
          inconclusive: '30% of the CPU went to other work',
        },
      ],
      references: [{ name: 'revoke p99 with 4 verifying replicas', measured: '9.10 ms' }],
      ...overrides,
    },
  };
}

const redis: SummaryInput = {
  json: '.run/bench/redis-2026-12-02T11-00-00-000Z.json',
  source: {
    scenario: 'redis',
    command: 'npm run bench -- redis',
    startedAt: '2026-12-02T11:00:00.000Z',
    goals: [],
    references: [
      {
        name: 'redis-benchmark PUBLISH',
        measured: '40000 req/s | p99 0.3 ms',
        baseline: 'reference: the floor',
      },
    ],
  },
};

const cellsOf = (line: string) =>
  line
    .slice(2, -2)
    .split(/ (?<!\\)\| /)
    .map((c) => c.trim());

describe('summaryRows', () => {
  it('gives each goal its target, value with detail, baseline, verdict, date and run', () => {
    const [ratio] = summaryRows(auth());
    expect(cellsOf(ratio!)).toEqual([
      '/me req/s ours ÷ bare express at LOG_LEVEL=info',
      '≥ 0.9',
      '0.812 (service CPU per request: ours 250 µs, bare 190 µs, peer 230 µs)',
      '2 bare express 5 processes',
      '**missed**',
      '2026-12-02 10:00Z',
      '`auth` `.run/bench/auth-2026-12-02T10-00-00-000Z.json`',
    ]);
  });

  it('shows counts as integers, a missing baseline as a dash, and met goals as met', () => {
    const cells = cellsOf(summaryRows(auth())[1]!);
    expect(cells.slice(2, 5)).toEqual(['0', 'absolute', 'met']);
    expect(cellsOf(summaryRows(auth())[2]!)[3]).toBe('–');
  });

  it('marks an inconclusive goal with its reason, and what it would be when it has a value', () => {
    const rows = summaryRows(auth()).map(cellsOf);
    expect(rows[2]![4]).toBe('**inconclusive**: not measured');
    expect(rows[3]![4]).toBe('**inconclusive** (met as measured): 30% of the CPU went to other work');
  });

  it('lists reference figures after the goals, with no target, and escapes pipes inside a cell', () => {
    const rows = summaryRows(redis);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('| – | 40000 req/s \\| p99 0.3 ms | reference: the floor | reference |');
    expect(summaryRows(auth()).at(-1)).toContain(
      '| revoke p99 with 4 verifying replicas | – | 9.10 ms | – | reference |',
    );
  });
});

describe('renderSummary', () => {
  const render = (results: SummaryInput[], previous?: Map<string, string[]>) =>
    renderSummary({
      results: new Map(results.map((r) => [r.source.scenario, r])),
      previous,
      generatedAt: '2026-12-02T12:00:00.000Z',
      command: 'npm run bench',
    });

  it('is one table between the summary markers, scenarios in a fixed order whatever the input order', () => {
    const text = render([redis, auth()]);
    expect(text.startsWith(SUMMARY_MARKERS.begin)).toBe(true);
    expect(text.endsWith(SUMMARY_MARKERS.end)).toBe(true);
    expect(
      text.match(/^\| goal \| target \| measured \| baseline \| verdict \| date \| scenario, run \|$/gm),
    ).toHaveLength(1);
    expect(text.indexOf('`auth`')).toBeLessThan(text.indexOf('`redis`'));
    expect(text).toContain('last by `npm run bench` on 2026-12-02 12:00Z');
  });

  it('names a scenario without a result or earlier rows, and keeps the earlier rows of one without a result', () => {
    const kept =
      '| an older settings goal | ≥ 0.5 | 0.09 | pgbench | **missed** | 2026-12-01 11:29Z | `settings` `.run/bench/settings-x.json` |';
    const text = render([auth()], new Map([['settings', [kept]]]));
    expect(text).toContain(kept);
    expect(text).toContain('| no result yet (run `npm run bench -- realtime`) |');
    expect(text).toContain('| no result yet (run `npm run bench -- redis`) |');
  });

  it('says why a scenario whose section exists has no rows', () => {
    const text = renderSummary({
      results: new Map(),
      absent: new Map([['auth', 'its result x.json is not in this checkout']]),
      generatedAt: '2026-12-02T12:00:00.000Z',
      command: 'npm run bench -- summary',
    });
    expect(text).toContain('| its result x.json is not in this checkout (run `npm run bench -- auth`) |');
  });

  it('prefers a fresh result over the rows already there', () => {
    const old = '| old auth goal | x | 1 | – | met | 2026-11-01 10:00Z | `auth` `.run/bench/auth-old.json` |';
    const text = render([auth()], new Map([['auth', [old]]]));
    expect(text).not.toContain('old auth goal');
  });
});

describe('reading the page back', () => {
  const summary = renderSummary({
    results: new Map([
      ['auth', auth()],
      ['redis', redis],
    ]),
    generatedAt: '2026-12-02T12:00:00.000Z',
    command: 'npm run bench',
  });

  it('finds the summary rows of each scenario (and none of the header)', () => {
    const rows = existingRows(`# Benchmarks\n\n${summary}\n\nmore text | with a pipe |\n`);
    expect([...rows.keys()].sort()).toEqual(['auth', 'realtime', 'redis', 'settings']);
    expect(rows.get('auth')).toEqual(summaryRows(auth()));
    expect(rows.get('redis')).toEqual(summaryRows(redis));
  });

  it('drops rows of an older layout (another cell count)', () => {
    const old = `${SUMMARY_MARKERS.begin}\n| a | b | \`auth\` |\n${SUMMARY_MARKERS.end}`;
    expect(existingRows(old).size).toBe(0);
  });

  it("finds the JSON a scenario's section names on its Reports line", () => {
    const m = sectionMarkers('settings');
    const text = `${m.begin}\n## settings\n\n- Reports: \`.run/bench/settings-1.json\`, \`.run/bench/settings-1.html\`\n${m.end}\n- Reports: \`.run/bench/other.json\``;
    expect(sectionResultPath(text, 'settings')).toBe('.run/bench/settings-1.json');
    expect(sectionResultPath(text, 'auth')).toBeUndefined();
  });

  it('puts a new summary before the first section, and replaces an existing one in place', () => {
    const m = sectionMarkers('auth');
    const page = `# Benchmarks\n\nIntro.\n\n${m.begin}\nauth\n${m.end}\n`;
    const placed = placeSummary(page, summary);
    expect(placed).toBe(`# Benchmarks\n\nIntro.\n\n${summary}\n\n${m.begin}\nauth\n${m.end}\n`);
    const again = placeSummary(placed, `${SUMMARY_MARKERS.begin}\nnew\n${SUMMARY_MARKERS.end}`);
    expect(again).toBe(
      `# Benchmarks\n\nIntro.\n\n${SUMMARY_MARKERS.begin}\nnew\n${SUMMARY_MARKERS.end}\n\n${m.begin}\nauth\n${m.end}\n`,
    );
  });
});

describe('refreshSummary', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'concord-bench-summary-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes the summary at the top from the JSON each section names, and says where rows came from', () => {
    const input = auth();
    mkdirSync(path.join(root, '.run/bench'), { recursive: true });
    writeFileSync(path.join(root, input.json), JSON.stringify(input.source));
    const m = sectionMarkers('auth');
    const r = sectionMarkers('realtime');
    const doc = path.join(root, 'benchmarks.md');
    writeFileSync(
      doc,
      `# Benchmarks\n\nIntro.\n\n${m.begin}\n- Reports: \`${input.json}\`, \`x.html\`\n${m.end}\n\n${r.begin}\n- Reports: \`.run/bench/gone.json\`, \`gone.html\`\n${r.end}\n`,
    );

    const origin = refreshSummary(root, doc, 'npm run bench -- auth');

    const text = readFileSync(doc, 'utf8');
    expect(text.indexOf(SUMMARY_MARKERS.begin)).toBeGreaterThan(text.indexOf('Intro.'));
    expect(text.indexOf(SUMMARY_MARKERS.end)).toBeLessThan(text.indexOf(m.begin));
    for (const line of summaryRows(input)) expect(text).toContain(line);
    expect(text).toContain(
      "| its section's result .run/bench/gone.json is not in this checkout (run `npm run bench -- realtime`) |",
    );
    expect(origin).toMatchObject({ auth: input.json, settings: 'no section yet' });
  });
});
