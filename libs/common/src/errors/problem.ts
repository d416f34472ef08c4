import { ZodError } from 'zod';
import { AppError, type FieldError } from './app-error';
import { problemType, type ErrorName } from './error-catalogue';

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

/** What body-parser (and raw-body under it) attach to the errors they pass to `next`. */
interface BodyParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
}

/**
 * The catalogue entry for each failure type body-parser documents (its README, "Errors"). Every one
 * is the client's doing or a request the service cannot read; none is a 500. body-parser itself
 * answers `stream.encoding.set` and `stream.not.readable` with 500 (they mean another middleware
 * read the stream first), but for the client the request body simply could not be read.
 */
const BODY_PARSER_ERRORS: Readonly<Record<string, readonly [ErrorName, string]>> = {
  'entity.too.large': ['PAYLOAD_TOO_LARGE', 'The request body is too large'],
  'parameters.too.many': ['PAYLOAD_TOO_LARGE', 'The form has too many fields'],
  'entity.parse.failed': ['REQUEST_VALIDATION_ERROR', 'The request body cannot be parsed'],
  'entity.verify.failed': ['REQUEST_VALIDATION_ERROR', 'The request body failed verification'],
  'querystring.parse.rangeError': ['REQUEST_VALIDATION_ERROR', 'The form nests too deeply'],
  'encoding.unsupported': ['UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding or charset'],
  'charset.unsupported': ['UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding or charset'],
  'request.aborted': ['REQUEST_VALIDATION_ERROR', 'The request body was aborted'],
  'request.size.invalid': ['REQUEST_VALIDATION_ERROR', 'The request body does not match its Content-Length'],
  'stream.encoding.set': ['REQUEST_VALIDATION_ERROR', 'The request body cannot be read'],
  'stream.not.readable': ['REQUEST_VALIDATION_ERROR', 'The request body cannot be read'],
};

/**
 * Maps a failure of a body parser to its problem. Known `type`s map by the table above; anything
 * else a parser reports as a client error (http-errors' `expose` with a 4xx status: e.g. a gzip body
 * that does not inflate, which carries zlib's error and no `type`) maps by status. Undefined for
 * anything else, which is then not a body-parser failure.
 */
export function bodyParserProblem(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status, expose } = err as BodyParserError;
  const known = typeof type === 'string' ? BODY_PARSER_ERRORS[type] : undefined;
  if (known) return new AppError(known[0], known[1], { cause: err });
  if (expose !== true || typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (status === 413)
    return new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large', { cause: err });
  if (status === 415)
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding', { cause: err });
  return new AppError('REQUEST_VALIDATION_ERROR', 'The request body cannot be read', { cause: err });
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
  const bodyProblem = bodyParserProblem(err);
  if (bodyProblem) return { appError: bodyProblem, expected: true };
  if (isDependencyOutage(err)) {
    return {
      appError: new AppError('SERVICE_UNAVAILABLE', 'A backing service is unavailable; retry shortly', {
        data: { retryAfterSeconds: 1 },
      }),
      expected: true,
    };
  }
  return { appError: new AppError('INTERNAL_ERROR', 'An unexpected error occurred'), expected: false };
}

const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Redis replies of a server that is up but refuses the command for now: out of memory under
 * `noeviction`, a read-only replica after a failover, a dataset still loading, a cluster that lost a
 * slot's master. None of them is the caller's fault or a bug.
 */
const REDIS_REFUSAL = /^(OOM|READONLY|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS) /;

/**
 * Postgres or Redis being unreachable — or up but refusing writes — is an outage (503 +
 * Retry-After), not a bug (500): connection errors, Postgres class 08, admin shutdown (57P0x),
 * insufficient resources (53xxx: disk full, out of memory, too many connections), a read-only
 * standby (25006), pg's client-side query timeout, ioredis' closed-connection errors and the Redis
 * refusals above.
 */
export function isDependencyOutage(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (
    typeof code === 'string' &&
    (OUTAGE_CODES.has(code) ||
      code.startsWith('08') ||
      code.startsWith('57P0') ||
      code.startsWith('53') ||
      code === '25006')
  ) {
    return true;
  }
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
  if (name === 'ReplyError' && typeof message === 'string' && REDIS_REFUSAL.test(message)) return true;
  return (
    typeof message === 'string' &&
    // The last four are ioredis Cluster's during a failover: it retried across the redirections
    // and slot refreshes it allows (a dead master, CLUSTERDOWN) and gave up, or has no node yet.
    /Connection is closed|Connection terminated|timeout exceeded when trying to connect|Query read timeout|Stream isn't writeable|^Too many Cluster redirections|^Failed to refresh slots cache|^None of startup nodes is available|^Cluster isn't ready/.test(
      message,
    )
  );
}

/** Builds the problem body for `appError` answering the request at `instance`. */
export function problemBody(appError: AppError, instance: string, requestId: string): ProblemBody {
  const body: ProblemBody = {
    ...appError.members(),
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
