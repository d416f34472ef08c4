/**
 * Load benchmarks: `npm run bench -- <scenario> [options]`. Each scenario starts what it needs,
 * measures, writes `.run/bench/<scenario>-<timestamp>.{json,html}` and cleans up after itself,
 * also on Ctrl-C and on the global time limit. Exit codes: 0 measured, 1 failed (invalid
 * measurement or error), 2 a goal was missed (or could not be judged) under `--check-goals`, 130 interrupted.
 */
import { authScenario } from './auth.scenario';
import { AUTH_USAGE } from './auth.options';
import { settingsScenario } from './settings.scenario';
import { SETTINGS_USAGE } from './settings.options';
import { createBenchContext, UsageError, type Scenario } from './bench-context';
import { repoRoot } from './bench-stack';
import { realtimeScenario } from './realtime.scenario';
import { REALTIME_USAGE } from './realtime.options';

const SCENARIOS: Record<string, { run: Scenario; usage: string }> = {
  auth: { run: authScenario, usage: AUTH_USAGE },
  realtime: { run: realtimeScenario, usage: REALTIME_USAGE },
  settings: { run: settingsScenario, usage: SETTINGS_USAGE },
};

/** No scenario may run longer than this, whatever its options say. */
const HARD_LIMIT_MS = 30 * 60_000;

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const scenario = name ? SCENARIOS[name] : undefined;
  if (!scenario) {
    process.stderr.write(
      `usage:\n${Object.values(SCENARIOS)
        .map((s) => `  ${s.usage}`)
        .join('\n')}\n`,
    );
    return 1;
  }
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench -- ${[name, ...args].join(' ')}`
      : `node ${process.argv.slice(1).join(' ')}`;
  const { ctx, cleanup } = createBenchContext(repoRoot(), args, command);

  let stopping = false;
  const abort = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    ctx.progress(`${reason}: cleaning up`);
    void cleanup().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 130));
  const limit = setTimeout(
    () => abort(`hard limit of ${HARD_LIMIT_MS / 60_000} min reached`, 1),
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
  if (stopping) return new Promise(() => undefined); // abort() exits once its cleanup is done
  const cleaned = await cleanup();
  return cleaned ? code : Math.max(code, 1);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench crashed: ${String(err)}\n`);
    process.exit(1);
  },
);
