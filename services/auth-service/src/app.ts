import { createServiceApp, jsonBody, type Authenticator, type HttpFront } from '@concord/common';
import type { Express } from 'express';
import type { AuthService } from './domain/auth.service';
import type { SessionService } from './domain/session.service';
import type { UserService } from './domain/user.service';
import { authRoutes } from './http/auth.routes';
import { jwksHandler } from './http/jwks.routes';
import { userRoutes } from './http/user.routes';

/** Everything the HTTP app needs, built by main.ts (or by tests). */
export interface AppDeps {
  /** What every app of the process shares (the bootstrap's `ctx.http`). */
  http: HttpFront;
  auth: AuthService;
  sessions: SessionService;
  users: UserService;
  authenticator: Authenticator;
  /** Public JWKS (next + active keys). */
  jwks: () => { keys: object[] };
  idleTimeoutSeconds: number;
  bodyLimitBytes: number;
}

/** Builds the auth-service Express app (exact, case-sensitive paths throughout). Never listens. */
export function createApp(deps: AppDeps): Express {
  const json = jsonBody(`${deps.bodyLimitBytes}b`);
  const jsonOrForm = jsonBody(`${deps.bodyLimitBytes}b`, { allowForm: true });
  return createServiceApp(deps.http, (app) => {
    authRoutes(app.router, {
      auth: deps.auth,
      sessions: deps.sessions,
      authenticator: deps.authenticator,
      idleTimeoutSeconds: deps.idleTimeoutSeconds,
      json,
      jsonOrForm,
    });
    // Mounted at /api/v1 with full paths: under a mount at /api/v1/users, Express hands both
    // `/api/v1/users` and `/api/v1/users/` to the router as `/`, and strict routing could not tell them apart.
    app.use('/api/v1', userRoutes({ users: deps.users, authenticator: deps.authenticator, json }));
    app.get('/.well-known/jwks.json', jwksHandler(deps.jwks));
  });
}
