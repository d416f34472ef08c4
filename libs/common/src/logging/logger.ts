import pino, { type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from './redact-secrets';

/** Concord's logger type (pino). */
export type { Logger };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  service: string;
  replicaId: string;
  /** Tests pass a stream to assert on what is logged. */
  destination?: DestinationStream;
}

/**
 * JSON logger with service/replica bindings and redaction of credentials at any depth
 * ({@link redactSecrets}; sensitive settings are masked before they are logged at all). pino's own
 * `redact` paths are not used: a `*.token` path covers one level only, so a token one object deeper
 * (`{ upstream: { body: { token } } }`, an array item, an error's property) went out in clear.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, replica: options.replicaId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Runs on every line's object before pino's serializers, and once per child's bindings.
        log: (object) => redactSecrets(object),
        bindings: (bindings) => redactSecrets(bindings),
      },
    },
    // Asynchronous stdout: a synchronous write per request line was the largest single cost of
    // the token-check hot path at info level. Lines are buffered only while a write is in flight;
    // shutdown flushes them (see flushLogger).
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Flushes buffered log lines (call before the process exits). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.flush((err) => {
      // Nothing sensible is left to report a failed final flush to; stderr is the last resort.
      if (err) process.stderr.write(`log flush failed: ${err.message}\n`);
      resolve();
    });
  });
}
