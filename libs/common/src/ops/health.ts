import { Router } from 'express';
import { AppError } from '../errors/app-error';

/** Readiness inputs: each returns undefined when fine, or a reason. */
export type ReadinessCheck = () => string | undefined;

/**
 * `/healthz` (alive) and `/readyz` (revocation snapshot loaded, not draining). Readiness never checks
 * shared Postgres/Redis: a dependency outage would take every pod out at once; those become
 * per-request 503 problems instead (DESIGN.md section 8).
 */
export function healthRouter(checks: ReadinessCheck[]): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, _res, next) => {
    const reasons = checks.map((check) => check()).filter((r): r is string => r !== undefined);
    if (reasons.length === 0) {
      _res.json({ status: 'ready' });
      return;
    }
    next(
      new AppError('SERVICE_UNAVAILABLE', `Not ready: ${reasons.join('; ')}`, {
        headers: { 'Retry-After': '1' },
      }),
    );
  });
  return router;
}
