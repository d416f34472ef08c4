import { UsageError } from './bench-context';
import { SUMMARY_ORDER } from './bench-summary';

/** A scenario of `npm run bench`. */
export type ScenarioName = (typeof SUMMARY_ORDER)[number];

/** One scenario to run, with the arguments it parses itself. */
export interface ScenarioRun {
  scenario: ScenarioName;
  args: string[];
}

/** What `npm run bench -- <argv>` asks for. */
export type BenchPlan =
  | { mode: 'help' }
  /** Rewrite the summary of docs/benchmarks.md from the results its sections name, measuring nothing. */
  | { mode: 'summary' }
  | {
      mode: 'run';
      /** Every scenario (no scenario named). */
      all: boolean;
      quick: boolean;
      runs: ScenarioRun[];
      /** Where sections and the summary go, relative to the repository root. */
      docsFile: string;
    };

/** The real report. */
export const DOCS_FILE = 'docs/benchmarks.md';
/** Where a `--quick` run writes instead: a fresh copy of {@link DOCS_FILE}, never the real one. */
export const QUICK_DOCS_FILE = '.run/bench/quick/benchmarks.md';

/**
 * The small sizes of `--quick`: every step of every scenario runs (the peer app, a revoke curve at
 * its two judged points, 2 and 8 replicas, pgbench, both realtime sides on one and two nodes, every
 * redis command), in a few minutes in all. Arguments given after them win (parseArgs keeps the
 * last value of an option).
 */
export const QUICK_ARGS: Record<ScenarioName, readonly string[]> = {
  auth: [
    '--duration=2',
    '--warmup=1',
    '--rounds=1',
    '--log-levels=info',
    '--revokes=10',
    '--revoke-replicas=2,8',
    '--curve-revokes=5',
  ],
  settings: ['--duration=2', '--warmup=1', '--rounds=1', '--keys=200', '--clients=4'],
  realtime: [
    '--sockets=200',
    '--workers=1',
    '--concurrency=20',
    '--broadcasts=2',
    '--fanout-burst=2',
    '--user-messages=10',
    '--presence-cycles=5',
    '--revokes=5',
    '--settle=3',
    '--no-sharded',
  ],
  redis: ['--requests=2000', '--sequential-requests=500'],
};

/** Options of the all-scenarios run, passed on to every scenario (`--quick` expands per scenario). */
const ALL_OPTIONS = new Set(['--quick', '--skip-docs', '--check-goals']);

function isScenario(name: string): name is ScenarioName {
  return (SUMMARY_ORDER as readonly string[]).includes(name);
}

/**
 * Parses the arguments of `npm run bench` (pure): nothing or options only → every scenario;
 * a scenario name → that scenario with the rest as its own options; `summary`; `--help`.
 */
export function parseBenchArgs(argv: readonly string[]): BenchPlan {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') return { mode: 'help' };
  if (first === 'summary') {
    if (rest.length > 0) throw new UsageError('`summary` takes no options');
    return { mode: 'summary' };
  }
  if (first !== undefined && isScenario(first)) {
    const quick = rest.includes('--quick');
    const own = rest.filter((a) => a !== '--quick');
    if (own.includes('--help') || own.includes('-h')) return { mode: 'help' };
    return {
      mode: 'run',
      all: false,
      quick,
      runs: [{ scenario: first, args: [...(quick ? QUICK_ARGS[first] : []), ...own] }],
      docsFile: quick ? QUICK_DOCS_FILE : DOCS_FILE,
    };
  }
  if (first !== undefined && first !== 'all' && !first.startsWith('-'))
    throw new UsageError(`unknown scenario ${JSON.stringify(first)} (${SUMMARY_ORDER.join(', ')}, summary)`);
  const options = first === 'all' ? rest : argv;
  if (options.includes('--help') || options.includes('-h')) return { mode: 'help' };
  const unknown = options.filter((a) => !ALL_OPTIONS.has(a));
  if (unknown.length > 0)
    throw new UsageError(
      `${unknown.join(' ')}: the all-scenarios run takes only ${[...ALL_OPTIONS].join(', ')}; a scenario's own options go after its name (npm run bench -- auth --rounds 2)`,
    );
  const quick = options.includes('--quick');
  const shared = options.filter((a) => a !== '--quick');
  return {
    mode: 'run',
    all: true,
    quick,
    runs: SUMMARY_ORDER.map((scenario) => ({
      scenario,
      args: [...(quick ? QUICK_ARGS[scenario] : []), ...shared],
    })),
    docsFile: quick ? QUICK_DOCS_FILE : DOCS_FILE,
  };
}

/** The text of `npm run bench -- --help`, around the scenarios' own usage lines. */
export function benchHelp(usages: Record<ScenarioName, string>): string {
  return `usage:
  npm run bench [-- --quick] [--skip-docs] [--check-goals]
    Every scenario in one go (${SUMMARY_ORDER.join(', ')}), each with its baselines measured in
    the same run and its own cleanup; each rewrites its section of ${DOCS_FILE}, then the summary
    table at its top (every goal: target, measured, baseline, verdict, date, run) is regenerated
    from the JSON results the sections name. --skip-docs and --check-goals go to every scenario.
  npm run bench -- <scenario> [options] [--quick]
    One scenario; the summary's rows of that scenario are refreshed, the others kept.
  npm run bench -- summary
    Regenerates the summary from the JSON results the sections name (under .run/bench), measuring nothing.

  --quick   small sizes (a few minutes for everything, to exercise the whole path). Its figures
            mean nothing: sections and summary go to ${QUICK_DOCS_FILE} (a fresh copy of
            ${DOCS_FILE}), never to ${DOCS_FILE} itself.

Exit codes: 0 measured, 1 a scenario failed (the others still run), 2 a goal was missed or could
not be judged (with --check-goals), 130 interrupted.

${SUMMARY_ORDER.map((s) => `  ${usages[s]}`).join('\n\n')}
`;
}

/** The exit code of several scenarios: a failure (1) over a missed goal (2) over success (0). */
export function worstCode(codes: readonly number[]): number {
  if (codes.includes(1)) return 1;
  return Math.max(0, ...codes);
}
