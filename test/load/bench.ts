/**
 * Load benchmarks: `npm run bench` runs every scenario, `npm run bench -- <scenario> [options]`
 * one (see `--help`). Each scenario starts what it needs, measures, writes
 * `.run/bench/<scenario>-<timestamp>.{json,html}` and its section of docs/benchmarks.md, and cleans
 * up after itself, also on Ctrl-C and on the time limit; then the summary at the top of the page is
 * regenerated from the results the sections name. Exit codes: 0 measured, 1 failed (invalid
 * measurement or error), 2 a goal was missed (or could not be judged) under `--check-goals`, 130
 * interrupted.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { authScenario } from './auth.scenario';
import { AUTH_USAGE } from './auth.options';
import {
  benchHelp,
  DOCS_FILE,
  parseBenchArgs,
  worstCode,
  type ScenarioName,
  type ScenarioRun,
} from './bench-args';
import { createBenchContext, progressPrefix, UsageError, type Scenario } from './bench-context';
import { repoRoot } from './bench-stack';
import { refreshSummary } from './bench-summary';
import { realtimeScenario } from './realtime.scenario';
import { REALTIME_USAGE } from './realtime.options';
import { redisScenario } from './redis.scenario';
import { REDIS_USAGE } from './redis.options';
import { settingsScenario } from './settings.scenario';
import { SETTINGS_USAGE } from './settings.options';

const SCENARIOS: Record<ScenarioName, { run: Scenario; usage: string }> = {
  auth: { run: authScenario, usage: AUTH_USAGE },
  settings: { run: settingsScenario, usage: SETTINGS_USAGE },
  realtime: { run: realtimeScenario, usage: REALTIME_USAGE },
  redis: { run: redisScenario, usage: REDIS_USAGE },
};

/** No scenario may run longer than this, whatever its options say. */
const HARD_LIMIT_MS = 30 * 60_000;
const STARTED = performance.now();

const log = (line: string) =>
  process.stderr.write(`${progressPrefix(performance.now() - STARTED)} ${line}\n`);
const minutes = (ms: number) =>
  `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;

/** The cleanup of the scenario running now, for Ctrl-C and the time limit. */
let abortCurrent: ((reason: string, code: number) => void) | undefined;
process.once('SIGINT', () => (abortCurrent ? abortCurrent('interrupted', 130) : process.exit(130)));
process.once('SIGTERM', () => (abortCurrent ? abortCurrent('terminated', 130) : process.exit(130)));

/** Runs one scenario with its own context and cleanup; resolves with its exit code. */
async function runScenario(
  root: string,
  run: ScenarioRun,
  command: string,
  docsFile: string,
  wrote: Set<string>,
): Promise<number> {
  const scenario = SCENARIOS[run.scenario];
  const { ctx, cleanup } = createBenchContext({
    root,
    args: run.args,
    command,
    docsFile,
    label: run.scenario,
    started: STARTED,
    wroteSection: (name) => wrote.add(name),
  });
  let stopping = false;
  abortCurrent = (reason, code) => {
    if (stopping) return;
    stopping = true;
    ctx.progress(`${reason}: cleaning up`);
    void cleanup().finally(() => process.exit(code));
  };
  const limit = setTimeout(
    () => abortCurrent?.(`hard limit of ${HARD_LIMIT_MS / 60_000} min reached`, 1),
    HARD_LIMIT_MS,
  );
  let code: number;
  try {
    code = await scenario.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\nusage: ${scenario.usage}\n`);
    else ctx.progress(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
  clearTimeout(limit);
  if (stopping) return new Promise(() => undefined); // abortCurrent exits once its cleanup is done
  abortCurrent = undefined;
  const cleaned = await cleanup();
  return cleaned ? code : Math.max(code, 1);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const usages = Object.fromEntries(Object.entries(SCENARIOS).map(([k, v]) => [k, v.usage])) as Record<
    ScenarioName,
    string
  >;
  let plan;
  try {
    plan = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${benchHelp(usages)}`);
    return 1;
  }
  if (plan.mode === 'help') {
    process.stdout.write(benchHelp(usages));
    return 0;
  }
  const root = repoRoot();
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
      : `node ${process.argv.slice(1).join(' ')}`;
  if (plan.mode === 'summary') {
    summarize(root, path.join(root, DOCS_FILE), command);
    return 0;
  }
  const docsFile = path.join(root, plan.docsFile);
  if (plan.quick) {
    // A fresh copy each time, so the quick sections and summary sit on the real page's content.
    mkdirSync(path.dirname(docsFile), { recursive: true });
    if (existsSync(path.join(root, DOCS_FILE))) copyFileSync(path.join(root, DOCS_FILE), docsFile);
    log(`--quick: small sizes; sections and summary go to ${plan.docsFile}, not ${DOCS_FILE}`);
  }
  const wrote = new Set<string>();
  const codes: number[] = [];
  for (const [i, run] of plan.runs.entries()) {
    const t0 = performance.now();
    if (plan.all)
      log(`=== scenario ${i + 1}/${plan.runs.length}: ${run.scenario} (${minutes(t0 - STARTED)} elapsed)`);
    const code = await runScenario(root, run, command, docsFile, wrote);
    codes.push(code);
    if (plan.all)
      log(
        `=== ${run.scenario} ${code === 1 ? 'FAILED' : 'done'} in ${minutes(performance.now() - t0)} (exit code ${code})`,
      );
    // After every scenario, so an interrupted run leaves the summary in step with the sections.
    if (wrote.has(run.scenario)) summarize(root, docsFile, command);
  }
  if (plan.all)
    log(
      `all scenarios in ${minutes(performance.now() - STARTED)}: ${plan.runs.map((r, i) => `${r.scenario} ${codes[i]}`).join(', ')}`,
    );
  return worstCode(codes);
}

/** Regenerates the summary of `docsFile` and says where each scenario's rows came from. */
function summarize(root: string, docsFile: string, command: string): void {
  const origin = refreshSummary(root, docsFile, command);
  log(
    `summary of ${path.relative(root, docsFile)} regenerated: ${Object.entries(origin)
      .map(([s, o]) => `${s} from ${o}`)
      .join('; ')}`,
  );
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench crashed: ${String(err)}\n`);
    process.exit(1);
  },
);
