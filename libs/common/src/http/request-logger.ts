import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging/logger';

/**
 * One log line per request with its `request_id`, client IP, status and duration. Only method and
 * path are logged (never the query string, which may carry a token, nor credential headers).
 * Deliberately not pino-http: that builds a child logger and serializers for every request even
 * when the line is filtered out, which measurably cost throughput on the token-check hot path.
 */
export function requestLogger(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const status = res.statusCode;
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
          responseTime: Math.round((performance.now() - started) * 10) / 10,
        },
        'request completed',
      );
    });
    next();
  };
}
