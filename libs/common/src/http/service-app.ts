import express, { Router, type Express, type RequestHandler } from 'express';
import type { Logger } from '../logging/logger';
import type { ClientIpResolver } from '../net/client-ip';
import { addHealthRoutes, type ReadinessCheck } from '../ops/health';
import type { Metrics } from '../ops/metrics';
import { observeRequests } from './observe-requests';
import { notFoundHandler, problemHandler } from './problem-middleware';
import { requestContext } from './request-context';

/**
 * A router whose paths are exact (DESIGN.md section 2, "Paths are exact"): case-sensitive, so
 * `/Login` is not `/login`, and strict, so `/login/` is not `/login`. Both are 404. Express's
 * defaults match either spelling, which let requests reach a handler under a path that the gateway's
 * limits (keyed on the exact path) did not cover. Every router of every service comes from here.
 */
export function createRouter(): Router {
  return Router({ caseSensitive: true, strict: true });
}

/**
 * The bare Express app every service starts from: exact paths for the app's own routes and mount
 * points (the settings must be in place before the first route, when Express creates its root
 * router), no `X-Powered-By`, no automatic ETags (settings-service sets its own strong ones), and
 * the simple query parser (`?a[b]=1` is the key `a[b]`, not an object a handler might not expect).
 */
export function createExpressApp(): Express {
  const app = express();
  app.enable('case sensitive routing');
  app.enable('strict routing');
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  return app;
}

/**
 * `handlers` as one Express layer, each run in turn, for the middleware every request passes:
 * Express's router does path matching and bookkeeping for every layer, which on the token-check hot
 * path cost measurably more than the middleware itself. An error (passed to next, thrown, or a
 * rejected promise) skips the rest and goes to Express's error handling, as it would between layers.
 */
export function series(handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      // Truthy, as Express judges it (the cors library calls next(null) to mean "go on").
      if (err) {
        next(err);
        return;
      }
      const handler = handlers[i++];
      if (!handler) {
        next();
        return;
      }
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}

/** What every HTTP app of a process shares; the service bootstrap builds it once (`ctx.http`). */
export interface HttpFront {
  logger: Logger;
  /** Records the request-duration histogram when given. */
  metrics?: Metrics;
  /** What `/readyz` asks (not draining, revocation snapshot loaded, …). */
  readiness: ReadinessCheck[];
  resolveClientIp: ClientIpResolver;
  replicaId: string;
  /** Local profile only: `X-Concord-Replica` on every answer. */
  exposeReplicaHeader: boolean;
  /** `SLOW_REQUEST_MS`. */
  slowRequestMs: number;
  /**
   * Middleware every request of the app passes, after the request context and before the health
   * routes and the service's own routes: the place for what every service applies (CORS, the
   * general rate limit) and for a service's own cross-cutting middleware.
   */
  middleware: RequestHandler[];
}

/**
 * A service's HTTP app: {@link createExpressApp}, then the request context (request id, client
 * IP through trusted proxies only, replica header), request observation (metrics, log line), the
 * front's middleware, the routes `mount` adds, `/healthz` and `/readyz`, a 404 problem for anything
 * else and the one problem middleware. Never listens.
 */
export function createServiceApp(front: HttpFront, mount: (app: Express) => void): Express {
  const app = createExpressApp();
  app.use(series([requestContext(front), observeRequests(front), ...front.middleware]));
  // The service's routes before the probes: paths are exact, so neither can shadow the other, and
  // the API's requests (most of them) skip two path matches.
  mount(app);
  addHealthRoutes(app, front.readiness);
  app.use(notFoundHandler);
  app.use(problemHandler(front.logger));
  return app;
}
