import type { Express } from 'express';
import { AppError } from '../errors/app-error';

/** Readiness inputs: each returns undefined when fine, or a reason. */
export type ReadinessCheck = () => string | undefined;

/**
 * `/healthz` (alive) and `/readyz` (revocation snapshot loaded, not draining). Readiness never checks
 * shared Postgres/Redis: a dependency outage would take every pod out at once; those become
 * per-request 503 problems instead (DESIGN.md section 8).
 */
export function addHealthRoutes(app: Express, checks: ReadinessCheck[]): void {
  // Plain app routes, not a sub-router: every request would otherwise walk through it.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res, next) => {
    const reasons = checks.map((check) => check()).filter((r): r is string => r !== undefined);
    if (reasons.length === 0) {
      res.json({ status: 'ready' });
      return;
    }
    next(
      new AppError('SERVICE_UNAVAILABLE', `Not ready: ${reasons.join('; ')}`, {
        data: { retryAfterSeconds: 1 },
      }),
    );
  });
}
