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
    options.destination,
  );
}
