import pino, { type DestinationStream, type Logger } from 'pino';

/** Concord's logger type (pino). */
export type { Logger };

/**
 * Paths censored in every log line: credentials in headers and bodies, tokens wherever they appear.
 * Sensitive settings are masked before they are logged at all.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  'password',
  'access_token',
  'refresh_token',
  'token',
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  service: string;
  replicaId: string;
  /** Tests pass a stream to assert on what is logged. */
  destination?: DestinationStream;
}

/** JSON logger with service/replica bindings and redaction. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, replica: options.replicaId },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
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
