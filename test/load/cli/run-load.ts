import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RealtimeClient } from '@concord/client';
import { createHttpClient, type HttpClient } from './http-client';
import { UsageError, type LoadOptions } from './options';
import { createRecorder } from './recorder';
import { renderLoadReport } from './report-html';
import { buildResult, type LoadResult } from './result';
import { contextCalls, type PreparedScenario, type ScenarioContext } from './scenario';
import { SCENARIOS } from './scenarios';
import { resolveTarget, sourceAddresses, TargetError } from './target';
import { openUserPool, RunError } from './user-pool';
import { runWorkload, type WorkloadResult } from './workload';
import { startProgress } from './progress';
import { rateLimitWarning, readUserRateLimit } from './rate-limit-check';

/** Exit codes of `npm run load` (also in --help and docs/load-testing.md). */
export const EXIT = { ok: 0, failed: 1, sloMissed: 2, usage: 64, interrupted: 130 } as const;

/** Where a run reports to. */
export interface RunIo {
  command: string;
  /** One message line (stderr). */
  log(line: string): void;
  progressStream: { write(text: string): unknown; isTTY?: boolean };
  /** Aborting it stops the run early (Ctrl-C); the report is still written. */
  interrupt?: AbortSignal;
}

/** What {@link runLoad} produced. */
export interface RunOutcome {
  exitCode: number;
  result?: LoadResult;
  files?: { json: string; html: string };
}

/** How long preparing (pool, logins, sockets) and cleaning up may take at most. */
const SETUP_LIMIT_MS = 5 * 60_000;

async function bounded<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RunError(`${what} took longer than ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One run of a scenario: check the target, prepare, offer load, report, clean up. */
export async function runLoad(options: LoadOptions, io: RunIo): Promise<RunOutcome> {
  const scenario = SCENARIOS.find((s) => s.name === options.scenario);
  if (!scenario) {
    io.log(`unknown scenario "${options.scenario}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return { exitCode: EXIT.usage };
  }
  let target;
  try {
    target = await resolveTarget(options.target, { allowRemote: options.allowRemoteTarget });
  } catch (err) {
    if (err instanceof TargetError || err instanceof UsageError) {
      io.log(err.message);
      return { exitCode: EXIT.usage };
    }
    throw err;
  }
  const sources = sourceAddresses(target, options.sources);
  const http: HttpClient = createHttpClient({
    origin: target.origin,
    sources,
    ca: options.ca,
    timeoutMs: options.timeoutMs,
    connectionsPerSource: Math.max(2, Math.ceil(options.users / sources.length) + 1),
  });
  const sockets = new Set<RealtimeClient>();
  const inFlight = new AbortController();
  // Every request in flight listens on this one signal: thousands at a time are expected.
  setMaxListeners(0, inFlight.signal);
  const now = () => performance.now();
  const recorder = createRecorder({ now });
  let prepared: PreparedScenario | undefined;
  const startedAt = new Date();
  const notes: string[] = [];
  try {
    const reach = await http.send({ method: 'GET', path: '/.well-known/jwks.json' }).catch((err: unknown) => {
      throw new RunError(
        `cannot reach ${options.target}: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    if (reach.status !== 200)
      throw new RunError(`${options.target}/.well-known/jwks.json answered ${reach.status}`);

    const pool = await openUserPool({
      http,
      target: options.target,
      loopback: target.loopback,
      stateDir: options.stateDir,
      admin:
        options.adminUser && options.adminPassword
          ? { username: options.adminUser, password: options.adminPassword }
          : undefined,
      log: io.log,
    });
    const ctx: ScenarioContext = {
      options,
      target,
      http,
      recorder,
      pool,
      runId: randomBytes(4).toString('hex'),
      signal: inFlight.signal,
      now,
      log: io.log,
      ...contextCalls({ options, target, http, recorder, signal: inFlight.signal, now, sources, sockets }),
    };
    io.log(`preparing ${scenario.name} against ${options.target} (${sources.length} source address(es))`);
    prepared = await bounded('preparing the scenario', SETUP_LIMIT_MS, scenario.prepare(ctx));
    notes.push(...prepared.notes);
    const perUser = await readUserRateLimit(http, await pool.adminToken());
    if (perUser !== undefined) {
      notes.push(`the target's per-user API limit: ${perUser.toFixed(2)} requests/s`);
      const warning =
        prepared.apiUsers === undefined
          ? undefined
          : rateLimitWarning(perUser, prepared.apiUsers, options.rate);
      if (warning) {
        io.log(`warning: ${warning}`);
        notes.push(warning);
      }
    }

    io.log(
      `offering load for ${options.durationMs / 1000} s: ${options.model} model, ${options.users} users` +
        (options.rate === undefined ? '' : `, ${options.rate}/s`) +
        `, at most ${options.maxRequests} iterations`,
    );
    recorder.start();
    const stopProgress = startProgress({
      snapshot: () => recorder.snapshot({ series: false }),
      durationSeconds: options.durationMs / 1000,
      stream: io.progressStream,
      mode: options.progress,
    });
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    io.interrupt?.addEventListener('abort', onInterrupt);
    // In-flight work gets --drain after the end; then its requests are aborted, so the run ends.
    const drainTimer = setTimeout(() => inFlight.abort(), options.durationMs + options.drainMs);
    const onStop = () => {
      clearTimeout(drainTimer);
      setTimeout(() => inFlight.abort(), options.drainMs).unref();
    };
    stop.signal.addEventListener('abort', onStop);
    let workload: WorkloadResult;
    try {
      const current = prepared;
      workload = await runWorkload({
        model: options.model,
        concurrency: options.users,
        rate: options.rate,
        durationMs: options.durationMs,
        maxIterations: options.maxRequests,
        now,
        signal: stop.signal,
        iteration: (it) => current.iteration(it),
        onError: (err) =>
          recorder.error(`iteration failed: ${err instanceof Error ? err.message : String(err)}`),
        onDrop: () => recorder.error('dropped: every slot busy (target saturated at this rate)'),
      });
      await bounded('finishing the scenario', SETUP_LIMIT_MS, prepared.finish?.() ?? Promise.resolve());
    } finally {
      clearTimeout(drainTimer);
      io.interrupt?.removeEventListener('abort', onInterrupt);
      stopProgress();
    }
    if (stop.signal.aborted) notes.push('interrupted before the end');
    if (workload.started >= options.maxRequests)
      notes.push(`stopped at --max-requests ${options.maxRequests}`);

    const result = buildResult({
      options,
      command: redactCommand(io.command),
      startedAt,
      finishedAt: new Date(),
      snapshot: recorder.snapshot(),
      histograms: recorder.histograms(),
      workload,
      sources: sources.length,
      notes,
    });
    const files = writeReports(options, result);
    io.log(summaryText(result, files));
    const exitCode = stop.signal.aborted ? EXIT.interrupted : result.passed ? EXIT.ok : EXIT.sloMissed;
    return { exitCode, result, files };
  } catch (err) {
    io.log(
      err instanceof RunError || err instanceof UsageError
        ? `failed: ${err.message}`
        : `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return { exitCode: err instanceof UsageError ? EXIT.usage : EXIT.failed };
  } finally {
    try {
      if (prepared?.teardown) await bounded('cleaning up', SETUP_LIMIT_MS, prepared.teardown());
    } catch (err) {
      io.log(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const s of sockets) s.close();
    inFlight.abort();
    recorder.destroy();
    await http.close();
  }
}

/** The command line as reports show it: an admin password given on it is not repeated. */
export function redactCommand(command: string): string {
  return command.replace(/(--admin-password[= ])\S+/g, '$1***');
}

function writeReports(options: LoadOptions, result: LoadResult): { json: string; html: string } {
  mkdirSync(options.outDir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const base = path.join(options.outDir, `${result.scenario}-${stamp}`);
  const files = { json: `${base}.json`, html: `${base}.html` };
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(files.html, renderLoadReport(result));
  return files;
}

/** The closing lines: headline figures, each SLO's verdict, where the reports are. */
export function summaryText(r: LoadResult, files: { json: string; html: string }): string {
  const s = r.summary;
  const lines = [
    `${r.scenario}: ${s.requests} operations in ${s.elapsedSeconds.toFixed(1)} s (${s.throughput.toFixed(1)}/s), ` +
      `${s.errors} errors (${(100 * s.errorRate).toFixed(3)}%), latency p50 ${s.latency.p50} ms, p99 ${s.latency.p99} ms, max ${s.latency.max} ms`,
    ...Object.entries(r.errorsByKind).map(([k, v]) => `  error ${k}: ${v}`),
    ...Object.entries(r.counters).map(([k, v]) => `  ${k}: ${v}`),
    ...r.slo.map(
      (v) =>
        `  SLO ${v.slo}: ${v.met ? 'met' : 'MISSED'} (measured ${v.actual ?? '–'}${v.detail ? `; ${v.detail}` : ''})`,
    ),
    `report: ${files.html}`,
    `json:   ${files.json}`,
  ];
  return lines.join('\n');
}
