/** Runs `task` over `items` with at most `concurrency` in flight (pure: unit-tested). */

/** What {@link runBounded} returns: the results in completion order and the first failures. */
export interface BoundedOutcome<R> {
  done: R[];
  /** Number of failed items. */
  failed: number;
  /** The first few failure messages (the rest are counted only). */
  failures: string[];
}

const KEPT_FAILURES = 5;

/**
 * Runs `task` for every item with at most `concurrency` running at once; a failure is counted and
 * its message kept (the first {@link KEPT_FAILURES}), never thrown, so one refused socket does not
 * abort a 10 000-socket connect and the caller decides whether the run is valid.
 */
export async function runBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<BoundedOutcome<R>> {
  const done: R[] = [];
  const failures: string[] = [];
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        done.push(await task(item));
      } catch (err) {
        failed += 1;
        if (failures.length < KEPT_FAILURES) failures.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return { done, failed, failures };
}
