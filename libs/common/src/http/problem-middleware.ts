import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { bearerToken } from '../auth/authenticator';
import { AppError } from '../errors/app-error';
import { problemBody, toAppError } from '../errors/problem';
import type { Logger } from '../logging/logger';

/**
 * The RFC 6750 section 3 challenge of a 401. A request that presented no bearer token gets the bare
 * `Bearer` (section 3.1: no error code when the client sent no authentication); a refused token gets
 * `error="invalid_token"` (expired, revoked, malformed or otherwise invalid), an unparsable
 * `Authorization: Bearer …` `error="invalid_request"`. Wrong credentials at login or password
 * change are not about the token, so they get the bare challenge RFC 9110 section 15.5.2 requires.
 */
function bearerChallenge(req: Request, appError: AppError): string {
  const header = req.headers.authorization;
  if (appError.error === 'INVALID_CREDENTIALS' || !header || !/^bearer(\s|$)/i.test(header)) return 'Bearer';
  return bearerToken(header) ? 'Bearer error="invalid_token"' : 'Bearer error="invalid_request"';
}

/**
 * The only place error data becomes HTTP headers: `Retry-After` (RFC 9110 section 10.2.3), `Allow`
 * (section 10.2.1), `ETag` (the current version on a 412) and the 401 challenge.
 */
function setProblemHeaders(req: Request, res: Response, appError: AppError): void {
  const { retryAfterSeconds, allow, etag } = appError.data;
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  if (allow !== undefined) res.setHeader('Allow', allow.join(', '));
  if (etag !== undefined) res.setHeader('ETag', etag);
  if (appError.status === 401) res.setHeader('WWW-Authenticate', bearerChallenge(req, appError));
}

/** Writes `appError` as `application/problem+json`, its data as headers and body members. */
export function sendProblem(req: Request, res: Response, appError: AppError): void {
  setProblemHeaders(req, res, appError);
  res
    .status(appError.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(appError, req.originalUrl.split('?')[0] ?? '/', req.id)));
}

/**
 * The one error middleware: typed errors keep their code, everything else becomes 8000 without
 * leaking internals. The outcome is left on `res.locals.problem` for the request's log line
 * ({@link observeRequests}), which carries an unexpected error's stack; without that line (an app
 * that does not observe its requests, or an answer already on its way) the error is logged here, so
 * it is never swallowed.
 */
export function problemHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    const { appError, expected } = toAppError(err);
    res.locals.problem = { appError, ...(expected ? {} : { unexpected: err }) };
    if (res.headersSent) {
      logger.error({ err, request_id: req.id }, 'error after the response started');
      next(err);
      return;
    }
    if (!expected && !res.locals.requestObserved)
      logger.error({ err, request_id: req.id }, 'unhandled error');
    sendProblem(req, res, appError);
  };
}

/** Final route: nothing matched. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('RESOURCE_NOT_FOUND', `No resource at ${req.path}`));
};

/** Mounted with `.all()` after a route's methods: answers 405 with `Allow`. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  const allow = [...new Set([...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])])];
  return (req, _res, next) => {
    next(new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here`, { data: { allow } }));
  };
}

/**
 * JSON body parsing with the two client errors separated: a body that is not JSON at all is 415,
 * JSON that does not parse is 400, a body over `limit` is 413. Requests without a body pass.
 */
export function jsonBody(limit: string, options: { allowForm?: boolean } = {}): RequestHandler[] {
  const parseJson = express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] });
  const parseForm = express.urlencoded({ limit, extended: false });
  const contentCheck: RequestHandler = (req, _res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) {
      next();
      return;
    }
    if (req.is(['application/json', 'application/*+json'])) {
      next();
      return;
    }
    if (options.allowForm && req.is('application/x-www-form-urlencoded')) {
      next();
      return;
    }
    next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json'));
  };
  return options.allowForm ? [contentCheck, parseJson, parseForm] : [contentCheck, parseJson];
}
