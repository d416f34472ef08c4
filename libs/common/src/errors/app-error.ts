import { ERROR_CATALOGUE, type ErrorName } from './error-catalogue';

/** One field-level validation problem, as listed in a 422 body's `errors`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * The plain data an {@link AppError} carries: facts about the failure, never transport details.
 * The problem middleware turns the well-known members into HTTP headers (`retryAfterSeconds` →
 * `Retry-After`, `allow` → `Allow`, `etag` → `ETag`) and every member into a body member in
 * snake_case; a Socket.IO payload gets the same members. Never put secrets here: all of it reaches
 * the client (Sairyss/domain-driven-hexagon's warning about error metadata).
 */
export interface ErrorData {
  /** Seconds until a retry may succeed (429, 503). */
  retryAfterSeconds?: number;
  /** The methods the resource supports (405). */
  allow?: readonly string[];
  /** The resource's current entity tag (412 of one resource). */
  etag?: string;
  /** The write is committed although the answer is an error: do not retry it (a 503 after commit). */
  committed?: boolean;
  /** Why, in one machine-readable word (e.g. the revocation cache's health, a 403's cause). */
  reason?: string;
  /** Further members of the error's own (e.g. settings-service's current `setting`). JSON values only. */
  readonly [member: string]: unknown;
}

/** Options of an {@link AppError}. */
export interface AppErrorOptions {
  errors?: FieldError[];
  data?: ErrorData;
  cause?: unknown;
}

/** `{code, error, detail}` plus the error's data members: what Socket.IO acks and connect errors carry. */
export interface ErrorPayload {
  code: number;
  error: ErrorName;
  detail: string;
  [member: string]: unknown;
}

/** `retryAfterSeconds` → `retry_after_seconds`. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * An expected failure carrying a catalogue code and plain data. Thrown by domain and handlers alike
 * and turned into `application/problem+json` by the one problem middleware (or into a Socket.IO
 * error payload); only that middleware knows about headers.
 */
export class AppError extends Error {
  readonly error: ErrorName;
  readonly code: number;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly data: Readonly<ErrorData>;

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
    const data = { ...options.data };
    // Whole seconds, at least one: what `Retry-After` can say (RFC 9110 section 10.2.3), and the
    // same figure in a body or a socket payload.
    if (data.retryAfterSeconds !== undefined) {
      data.retryAfterSeconds = Math.max(1, Math.ceil(data.retryAfterSeconds));
    }
    this.data = Object.freeze(data);
  }

  /** The data as body (or payload) members: snake_case names, undefined values left out. */
  members(): Record<string, unknown> {
    const members: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(this.data)) {
      if (value !== undefined) members[snakeCase(name)] = value;
    }
    return members;
  }

  /** The payload of Socket.IO acks and connect errors: `{code, error, detail}` and the data members. */
  toPayload(): ErrorPayload {
    return { ...this.members(), code: this.code, error: this.error, detail: this.detail };
  }
}
