import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging/logger';
import type { Metrics } from '../ops/metrics';

/**
 * Observes every request once it finished: the duration histogram (route templates, never raw
 * paths) and one log line with `request_id`, client IP, status and duration. Only method and path
 * are logged (never the query string, which may carry a token, nor credential headers).
 * Deliberately not pino-http, and one listener for both: pino-http builds a child logger and
 * serializers for every request even when the line is filtered out, which measurably cost
 * throughput on the token-check hot path.
 */
export function observeRequests(logger: Logger, metrics?: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const status = res.statusCode;
      const seconds = (performance.now() - started) / 1000;
      if (metrics) {
        const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, seconds);
      }
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
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
          responseTime: Math.round(seconds * 10_000) / 10,
        },
        'request completed',
      );
    });
    next();
  };
}
