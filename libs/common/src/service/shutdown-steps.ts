import type { Logger } from '../logging/logger';

/** An ordered list of named shutdown steps, each run once. */
export interface ShutdownSteps {
  add(name: string, step: () => Promise<unknown> | unknown): void;
  /** Runs the steps added so far in order; resolves with the failures (each already logged). */
  runInOrder(): Promise<unknown[]>;
  /** Runs them last-added first: what was built last stops first. */
  runReversed(): Promise<unknown[]>;
}

/**
 * Runs one step; a failure is logged and returned rather than thrown, so that one failing step
 * (a Redis that is gone at shutdown) does not keep the others from releasing what they hold.
 */
export async function runStep(
  logger: Logger,
  name: string,
  step: () => Promise<unknown> | unknown,
): Promise<unknown[]> {
  try {
    await step();
    return [];
  } catch (err) {
    logger.error({ err, step: name }, 'shutdown step failed');
    return [err];
  }
}

/** Builds an empty {@link ShutdownSteps} that reports failures to `logger`. */
export function createShutdownSteps(logger: Logger): ShutdownSteps {
  const steps: { name: string; step: () => Promise<unknown> | unknown }[] = [];
  async function run(order: typeof steps): Promise<unknown[]> {
    const failures: unknown[] = [];
    for (const { name, step } of order) failures.push(...(await runStep(logger, name, step)));
    return failures;
  }
  return {
    add: (name, step) => void steps.push({ name, step }),
    runInOrder: () => run(steps.splice(0)),
    runReversed: () => run(steps.splice(0).reverse()),
  };
}
