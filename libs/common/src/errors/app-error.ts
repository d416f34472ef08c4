import { ERROR_CATALOGUE, type ErrorName } from './error-catalogue';

/** One field-level validation problem, as listed in a 422 body's `errors`. */
export interface FieldError {
  path: string;
  message: string;
}

/** Options of an {@link AppError}. Never put secrets here: all of it reaches the client. */
export interface AppErrorOptions {
  errors?: FieldError[];
  /** Extra response headers, e.g. `Retry-After`, `Allow`, `ETag`. */
  headers?: Record<string, string>;
  /** Extra body members (e.g. the current version on a 412). */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An expected failure carrying a catalogue code. Thrown by domain and handlers alike and turned into
 * `application/problem+json` by the one problem middleware (or into a Socket.IO error payload).
 */
export class AppError extends Error {
  readonly error: ErrorName;
  readonly code: number;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(error: ErrorName, detail?: string, options: AppErrorOptions = {}) {
    const entry = ERROR_CATALOGUE[error];
    super(detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.error = error;
    this.code = entry.code;
    this.status = entry.status;
    this.title = entry.title;
    this.detail = detail ?? entry.title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }

  /** The `{code, error, detail}` triple used by Socket.IO acks and connect errors. */
  toPayload(): { code: number; error: ErrorName; detail: string } {
    return { code: this.code, error: this.error, detail: this.detail };
  }
}
