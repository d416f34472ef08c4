import { ZodError } from 'zod';
import { AppError, type FieldError } from './app-error';
import { problemType } from './error-catalogue';

/** RFC 9457 body as Concord sends it (DESIGN.md section 3). */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: number;
  error: string;
  request_id: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

/** Lists a zod error's issues as `{path, message}` rows (paths dotted, root as `$`). */
export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length === 0 ? '$' : issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/** Body-parser failures carry a `type`; these are the ones that are the client's fault. */
interface BodyParserError {
  type: string;
  status?: number;
}

function isBodyParserError(value: unknown): value is BodyParserError {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

/**
 * Maps anything thrown to an {@link AppError}. Unknown errors become 8000 with a generic detail so
 * that stack traces, SQL and driver messages never reach a client; `expected` is false for those so
 * the caller logs them at error level.
 */
export function toAppError(err: unknown): { appError: AppError; expected: boolean } {
  if (err instanceof AppError) return { appError: err, expected: true };
  if (err instanceof ZodError) {
    return {
      appError: new AppError('VALIDATION_ERROR', 'The request is invalid', { errors: zodFieldErrors(err) }),
      expected: true,
    };
  }
  if (isBodyParserError(err)) {
    switch (err.type) {
      case 'entity.too.large':
        return {
          appError: new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large'),
          expected: true,
        };
      case 'entity.parse.failed':
        return {
          appError: new AppError('REQUEST_VALIDATION_ERROR', 'The body is not valid JSON'),
          expected: true,
        };
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return {
          appError: new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding or charset'),
          expected: true,
        };
      case 'request.aborted':
      case 'request.size.invalid':
      case 'stream.encoding.set':
        return {
          appError: new AppError('REQUEST_VALIDATION_ERROR', 'The request body is malformed'),
          expected: true,
        };
    }
  }
  if (isDependencyOutage(err)) {
    return {
      appError: new AppError('SERVICE_UNAVAILABLE', 'A backing service is unavailable; retry shortly', {
        headers: { 'Retry-After': '1' },
      }),
      expected: true,
    };
  }
  return { appError: new AppError('INTERNAL_ERROR', 'An unexpected error occurred'), expected: false };
}

const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Postgres or Redis being unreachable is an outage (503 + Retry-After), not a bug (500): connection
 * errors, Postgres class 08 and admin shutdown (57P0x), pg's client-side query timeout, ioredis'
 * closed-connection errors.
 */
export function isDependencyOutage(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (
    typeof code === 'string' &&
    (OUTAGE_CODES.has(code) || code.startsWith('08') || code.startsWith('57P0'))
  ) {
    return true;
  }
  if (name === 'MaxRetriesPerRequestError') return true;
  return (
    typeof message === 'string' &&
    /Connection is closed|Connection terminated|timeout exceeded when trying to connect|Query read timeout|Stream isn't writeable/.test(
      message,
    )
  );
}

/** Builds the problem body for `appError` answering the request at `instance`. */
export function problemBody(appError: AppError, instance: string, requestId: string): ProblemBody {
  const body: ProblemBody = {
    ...appError.extra,
    type: problemType(appError.error),
    title: appError.title,
    status: appError.status,
    detail: appError.detail,
    instance,
    code: appError.code,
    error: appError.error,
    request_id: requestId,
  };
  if (appError.errors) body.errors = appError.errors;
  return body;
}
