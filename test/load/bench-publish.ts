import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Goal } from './auth.results';
import type { BenchContext } from './bench-context';
import { goalValue, sectionMarkers, upsertSection } from './benchmarks-doc';
import { describeBuild, type BuildInfo } from './build-info';

/** What every scenario records about its start, and where its outputs go. */
export interface BenchRun {
  loadAtStart: number;
  build: BuildInfo;
  startedAt: Date;
  /** `startedAt` as a file-name part. */
  stamp: string;
  /** `<root>/.run/bench`. */
  outDir: string;
  /** A private temporary directory, removed at the end. */
  tmp: string;
  /** `<outDir>/<name>-<stamp>-cpuprof` (when asked for). */
  profileDir?: string;
}

/**
 * The start of scenario `name`: load average and build of the code under test (printed), the
 * output directory, a temporary directory and, on request, a CPU-profile directory.
 */
export function beginBenchRun(
  ctx: BenchContext,
  name: string,
  options: { cpuProf?: boolean } = {},
): BenchRun {
  const loadAtStart = os.loadavg()[0] ?? 0;
  const build = describeBuild(ctx.root);
  ctx.progress(
    `code under test: ${build.commit}${build.dirty ? ' + uncommitted changes' : ''}, built ${build.builtAt}; load average ${loadAtStart.toFixed(2)}`,
  );
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(ctx.root, '.run/bench');
  mkdirSync(outDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'concord-bench-'));
  ctx.defer('temporary files', async () => rmSync(tmp, { recursive: true, force: true }));
  const run: BenchRun = { loadAtStart, build, startedAt, stamp, outDir, tmp };
  if (options.cpuProf) {
    run.profileDir = path.join(outDir, `${name}-${stamp}-cpuprof`);
    mkdirSync(run.profileDir, { recursive: true });
  }
  return run;
}

/** How one scenario's finished result is written out. */
export interface PublishOptions<R> {
  /** Scenario name: file names `<name>-<stamp>.{json,html}` and the docs section's markers. */
  name: string;
  stamp: string;
  outDir: string;
  result: R;
  goals: readonly Goal[];
  html(result: R): string;
  section(result: R, reportPaths: { json: string; html: string }): string;
  /** Why docs/benchmarks.md stays as it is (a diagnostic run), or undefined to update it. */
  keepDocs?: string;
  /** JSON.stringify replacer (e.g. rounding). */
  replacer?: (key: string, value: unknown) => unknown;
  checkGoals: boolean;
}

/**
 * Writes the JSON and HTML reports, updates the scenario's docs section, prints each goal's verdict
 * and returns the exit code (2 under `--check-goals` when a goal was missed or could not be judged).
 */
export function publishBenchResult<R>(ctx: BenchContext, o: PublishOptions<R>): number {
  const json = path.join(o.outDir, `${o.name}-${o.stamp}.json`);
  const html = path.join(o.outDir, `${o.name}-${o.stamp}.html`);
  writeFileSync(json, `${JSON.stringify(o.result, o.replacer, 2)}\n`);
  writeFileSync(html, o.html(o.result));
  ctx.progress(`results: ${json}`);
  ctx.progress(`report:  ${html}`);
  if (o.keepDocs) {
    ctx.progress(`${path.relative(ctx.root, ctx.docsFile)} left unchanged (${o.keepDocs})`);
  } else {
    const rel = (p: string) => path.relative(ctx.root, p);
    upsertSection(
      ctx.docsFile,
      sectionMarkers(o.name),
      o.section(o.result, { json: rel(json), html: rel(html) }),
    );
    ctx.wroteSection(o.name);
    ctx.progress(`${rel(ctx.docsFile)} updated`);
  }
  for (const g of o.goals)
    ctx.progress(
      `goal ${g.met ? 'MET   ' : 'MISSED'} ${g.name}: ${goalValue(g.value)} (target ${g.target})${g.detail ? ` [${g.detail}]` : ''}${g.inconclusive ? ` INCONCLUSIVE: ${g.inconclusive}` : ''}`,
    );
  return o.checkGoals && o.goals.some((g) => !g.met || g.inconclusive) ? 2 : 0;
}
