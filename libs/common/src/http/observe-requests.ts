import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { AppError } from '../errors/app-error';
import type { Logger } from '../logging/logger';
import type { Metrics } from '../ops/metrics';

/** What the problem middleware answered a request with, for its log line. */
export interface RequestProblem {
  appError: AppError;
  /** The error itself when it was not an expected one (a bug: logged with its stack). */
  unexpected?: unknown;
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** Set by the problem middleware. */
    problem?: RequestProblem;
    /** Set by {@link observeRequests}: the request gets its line, the problem middleware need not log. */
    requestObserved?: boolean;
  }
}

/** Options of {@link observeRequests}. */
export interface ObserveRequestsOptions {
  logger: Logger;
  /** Records the duration histogram when given. */
  metrics?: Metrics;
  /** `SLOW_REQUEST_MS`: a request that takes this long is logged at info. */
  slowRequestMs: number;
}

/** Statuses whose line is a security event: refused credentials, a denied role, throttling. */
const REFUSALS = new Set([401, 403, 429]);

type Level = 'error' | 'warn' | 'info' | 'debug';

/** The line's level and message: see {@link observeRequests}. */
function classify(status: number, ms: number, options: ObserveRequestsOptions, problem?: RequestProblem) {
  if (problem?.unexpected !== undefined) return { level: 'error' as Level, msg: 'request failed' };
  if (status >= 500) return { level: 'warn' as Level, msg: 'request failed' };
  if (ms >= options.slowRequestMs) return { level: 'warn' as Level, msg: 'slow request' };
  if (REFUSALS.has(status)) return { level: 'info' as Level, msg: 'request refused' };
  return { level: 'debug' as Level, msg: 'request completed' };
}

/**
 * Observes every request once it is over: the duration histogram (route templates, never raw
 * paths) and at most one log line (DESIGN.md section 8). The access line is nginx's, so at `info` a
 * service logs only what nginx cannot see: a failure (5xx, with the problem's code and detail, and
 * the stack of an unexpected error), a request slower than `slowRequestMs` (also one the client
 * gave up on), and a refusal (401, 403, 429: the catalogue code tells an expired token from a
 * revoked session or a spent budget). `debug` adds a line for every other request.
 *
 * Only method and path are logged (never the query string, which may carry a token, nor credential
 * headers). Deliberately not pino-http, and one listener for both: pino-http builds a child logger
 * and serializers for every request even when the line is filtered out, which measurably cost
 * throughput on the token-check hot path.
 */
export function observeRequests(options: ObserveRequestsOptions) {
  const { logger, metrics } = options;
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.locals.requestObserved = true;
    // 'close' rather than 'finish': it also fires when the client went away before the answer. It
    // fires once per response, so `on` (no once-wrapper to build and remove).
    res.on('close', () => {
      const status = res.statusCode;
      const ms = performance.now() - started;
      const finished = res.writableFinished;
      if (metrics && finished) {
        const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, ms / 1000);
      }
      const { problem } = res.locals;
      const { level, msg } = classify(status, ms, options, problem);
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          request_id: req.id,
          req: {
            method: req.method,
            path: req.originalUrl.split('?')[0],
            client_ip: req.clientIp,
            user_agent: req.headers['user-agent'],
          },
          res: { status },
          responseTime: Math.round(ms * 10) / 10,
          ...(finished ? {} : { aborted: true }),
          ...(req.auth ? { user_id: req.auth.sub } : {}),
          ...(problem
            ? {
                code: problem.appError.code,
                detail: problem.appError.detail,
                reason: problem.appError.data.reason,
              }
            : {}),
          ...(problem?.unexpected !== undefined ? { err: problem.unexpected } : {}),
        },
        msg,
      );
    });
    next();
  };
}
