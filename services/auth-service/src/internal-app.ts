import { createClientIpResolver, createServiceApp, type HttpFront } from '@concord/common';
import type { Express } from 'express';
import { jwksHandler } from './http/jwks.routes';

/** What the internal listener needs, built by main.ts (or by tests). */
export interface InternalAppDeps {
  /** The process's shared HTTP front; only its logger, readiness and replica identity are used. */
  http: HttpFront;
  /** Public JWKS (next + active keys), the same the API port serves. */
  jwks: () => { keys: object[] };
}

/**
 * The internal listener on `INTERNAL_PORT` (DESIGN.md section 4): the JWKS for sibling services'
 * `JWKS_URL`, `/healthz` and `/readyz`, and a 404 problem for everything else, the API included.
 * Siblings reach auth-service only here (the k8s NetworkPolicy admits them to this port alone), so
 * a pod that the pod-CIDR `TRUSTED_PROXIES` would trust can never reach an endpoint where
 * `X-Forwarded-*` matter. For the same reason this listener trusts no proxy at all, whatever
 * `TRUSTED_PROXIES` says: there is no gateway in front of it, and none of the API's middleware (CORS,
 * rate limits) or its metrics apply. Never listens (main.ts does).
 */
export function createInternalApp(deps: InternalAppDeps): Express {
  const front: HttpFront = {
    ...deps.http,
    resolveClientIp: createClientIpResolver([]),
    metrics: undefined,
    middleware: [],
  };
  return createServiceApp(front, (app) => {
    app.get('/.well-known/jwks.json', jwksHandler(deps.jwks));
  });
}
