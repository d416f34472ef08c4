/** What the entry point hands a scenario: arguments, progress output and a cleanup stack. */
export interface BenchContext {
  /** The repository root (outputs go to `<root>/.run/bench`, docs to `<root>/docs`). */
  root: string;
  /** Arguments after the scenario name. */
  args: string[];
  /** How the run was started, for the reports. */
  command: string;
  /**
   * The Markdown file the scenario's section goes to: docs/benchmarks.md, or a copy of it for a
   * `--quick` run (whose small figures must never reach the real sections).
   */
  docsFile: string;
  /** Called once the scenario's section of {@link docsFile} was rewritten (the summary follows it). */
  wroteSection(name: string): void;
  /** One progress line on stderr, prefixed with the elapsed time. */
  progress(line: string): void;
  /**
   * Registers `fn` to run at the end (last registered first) or when the run is aborted; returns a
   * function that runs it now instead (at most once either way).
   */
  defer(name: string, fn: () => Promise<void>): () => Promise<void>;
}

/** Bad arguments: the entry point prints the message and the usage, without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A scenario resolves with the process exit code. */
export type Scenario = (ctx: BenchContext) => Promise<number>;

/** Options of {@link createBenchContext}. */
export interface BenchContextOptions {
  root: string;
  args: string[];
  command: string;
  docsFile: string;
  /** Shown in every progress line (the scenario, when one run holds several). */
  label?: string;
  /** `performance.now()` the elapsed time counts from (default: now). */
  started?: number;
  wroteSection?(name: string): void;
}

/** `[bench +   12.3s label]`: the prefix of every progress line. */
export function progressPrefix(elapsedMs: number, label?: string): string {
  return `[bench +${(elapsedMs / 1000).toFixed(1).padStart(6)}s${label ? ` ${label}` : ''}]`;
}

/** A {@link BenchContext} plus `cleanup`, which runs every pending deferred function. */
export function createBenchContext(o: BenchContextOptions) {
  const started = o.started ?? performance.now();
  const pending: { name: string; run: () => Promise<void> }[] = [];
  const progress = (line: string) => {
    process.stderr.write(`${progressPrefix(performance.now() - started, o.label)} ${line}\n`);
  };
  const ctx: BenchContext = {
    root: o.root,
    args: o.args,
    command: o.command,
    docsFile: o.docsFile,
    wroteSection: (name) => o.wroteSection?.(name),
    progress,
    defer(name, fn) {
      let done: Promise<void> | undefined;
      const entry = {
        name,
        run: () => {
          done ??= fn();
          return done;
        },
      };
      pending.push(entry);
      return () => {
        const i = pending.indexOf(entry);
        if (i >= 0) pending.splice(i, 1);
        return entry.run();
      };
    },
  };
  /** Runs what is still pending, newest first; failures are reported, not thrown, so all run. */
  async function cleanup(): Promise<boolean> {
    let ok = true;
    while (pending.length > 0) {
      const entry = pending.pop()!;
      try {
        await entry.run();
      } catch (err) {
        ok = false;
        progress(`cleanup of ${entry.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return ok;
  }
  return { ctx, cleanup };
}
