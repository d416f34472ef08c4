import type { Request, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logging/logger';

/**
 * One log line per request with its `request_id`, client IP and status. Only method and path are
 * logged (no query string: it may carry a token), and headers are reduced to a safe few.
 */
export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req) => (req as unknown as Request).id,
    customProps: (req) => ({ request_id: (req as unknown as Request).id }),
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    serializers: {
      req: (req: { raw: Request }) => ({
        method: req.raw.method,
        path: req.raw.originalUrl?.split('?')[0],
        client_ip: req.raw.clientIp,
        user_agent: req.raw.headers['user-agent'],
      }),
      res: (res: { raw: Response }) => ({ status: res.raw.statusCode }),
    },
  });
}
