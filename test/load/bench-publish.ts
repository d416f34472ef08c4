import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Goal } from './auth.results';
import type { BenchContext } from './bench-context';
import { sectionMarkers, upsertSection } from './benchmarks-doc';

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
    ctx.progress(`docs/benchmarks.md left unchanged (${o.keepDocs})`);
  } else {
    const rel = (p: string) => path.relative(ctx.root, p);
    upsertSection(
      path.join(ctx.root, 'docs/benchmarks.md'),
      sectionMarkers(o.name),
      o.section(o.result, { json: rel(json), html: rel(html) }),
    );
    ctx.progress('docs/benchmarks.md updated');
  }
  for (const g of o.goals)
    ctx.progress(
      `goal ${g.met ? 'MET   ' : 'MISSED'} ${g.name}: ${g.value.toFixed(3)} (target ${g.target})${g.inconclusive ? ` INCONCLUSIVE: ${g.inconclusive}` : ''}`,
    );
  return o.checkGoals && o.goals.some((g) => !g.met || g.inconclusive) ? 2 : 0;
}
