import {
  addHealthRoutes,
  createClientIpResolver,
  notFoundHandler,
  observeRequests,
  problemHandler,
  requestContext,
  type Logger,
  type ReadinessCheck,
} from '@concord/common';
import express, { type Express } from 'express';
import { jwksHandler } from './http/jwks.routes';

/** What the internal listener needs, built by main.ts (or by tests). */
export interface InternalAppDeps {
  /** Public JWKS (next + active keys), the same the API port serves. */
  jwks: () => { keys: object[] };
  logger: Logger;
  readiness: ReadinessCheck[];
  replicaId: string;
  exposeReplicaHeader: boolean;
}

/**
 * The internal listener on `INTERNAL_PORT` (DESIGN.md section 4): the JWKS for sibling services'
 * `JWKS_URL`, `/healthz` and `/readyz`, and a 404 problem for everything else, the API included.
 * Siblings reach auth-service only here (the k8s NetworkPolicy admits them to this port alone), so
 * a pod that the pod-CIDR `TRUSTED_PROXIES` would trust can never reach an endpoint where
 * `X-Forwarded-*` matter. For the same reason this listener trusts no proxy at all, whatever
 * `TRUSTED_PROXIES` says: there is no gateway in front of it. Never listens (main.ts does).
 */
export function createInternalApp(deps: InternalAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Exact paths only: `/Healthz` or `/.well-known/jwks.json/` are not these routes.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(
    requestContext({
      resolveClientIp: createClientIpResolver([]),
      replicaId: deps.replicaId,
      exposeReplicaHeader: deps.exposeReplicaHeader,
    }),
  );
  app.use(observeRequests(deps.logger));
  addHealthRoutes(app, deps.readiness);
  app.get('/.well-known/jwks.json', jwksHandler(deps.jwks));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
