import express, { Router, type Express } from 'express';

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
 * The Express app every service starts from: exact paths for the app's own routes and mount points
 * (the settings must be in place before the first route, when Express creates its root router), no
 * `X-Powered-By`, no automatic ETags (settings-service sets its own strong ones), and the simple
 * query parser (`?a[b]=1` is the key `a[b]`, not an object a handler might not expect).
 */
export function createServiceApp(): Express {
  const app = express();
  app.enable('case sensitive routing');
  app.enable('strict routing');
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  return app;
}
