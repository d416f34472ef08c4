import { ConfigError } from '../config/load-config';
import type { RunningService } from './service-context';

/** What a service's main.ts hands to {@link runService}. */
export interface ServiceEntry<C> {
  name: string;
  /** Reads and checks the environment once (the service's config.ts). */
  readConfig(): C;
  start(config: C): Promise<RunningService>;
  /**
   * Errors an operator fixes from their message alone, reported without a stack like a
   * ConfigError (settings-service's contradicting setting definitions).
   */
  operatorErrors?: ReadonlyArray<abstract new (...args: never[]) => Error>;
}

/** Writes `message` to stderr and exits 1 (nothing was started, or starting failed). */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * The process entry point of every service: reads the config (a ConfigError becomes its one
 * message naming every bad key, exit 1), starts the service, and on SIGTERM or SIGINT shuts it
 * down once (exit 0; exit 1 when a shutdown step failed). A second signal while shutting down
 * changes nothing: the drain has its own deadline (`SHUTDOWN_GRACE_MS`).
 */
export async function runService<C>(entry: ServiceEntry<C>): Promise<void> {
  const known = [ConfigError, ...(entry.operatorErrors ?? [])];
  const isKnown = (err: unknown): err is Error => known.some((type) => err instanceof type);
  let running: RunningService;
  try {
    running = await entry.start(entry.readConfig());
  } catch (err) {
    if (isKnown(err)) fail(err.message);
    fail(`${entry.name} failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ event: 'lifecycle', signal }, 'signal received');
    running.shutdown().then(
      () => process.exit(0),
      // Every step ran and each failure was logged; the exit code tells the supervisor.
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
