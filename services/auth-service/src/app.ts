import {
  addHealthRoutes,
  createServiceApp,
  jsonBody,
  notFoundHandler,
  problemHandler,
  requestContext,
  observeRequests,
  type Authenticator,
  type ClientIpResolver,
  type Logger,
  type Metrics,
  type ReadinessCheck,
} from '@concord/common';
import type { Express } from 'express';
import type { AuthService } from './domain/auth.service';
import type { SessionService } from './domain/session.service';
import type { UserService } from './domain/user.service';
import { authRoutes } from './http/auth.routes';
import { jwksHandler } from './http/jwks.routes';
import { userRoutes } from './http/user.routes';

/** Everything the HTTP app needs, built by main.ts (or by tests). */
export interface AppDeps {
  auth: AuthService;
  sessions: SessionService;
  users: UserService;
  authenticator: Authenticator;
  /** Public JWKS (next + active keys). */
  jwks: () => { keys: object[] };
  resolveClientIp: ClientIpResolver;
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  replicaId: string;
  exposeReplicaHeader: boolean;
  idleTimeoutSeconds: number;
  bodyLimitBytes: number;
}

/** Builds the auth-service Express app (exact, case-sensitive paths throughout). Never listens. */
export function createApp(deps: AppDeps): Express {
  const app = createServiceApp();
  app.use(requestContext(deps));
  app.use(observeRequests(deps.logger, deps.metrics));
  addHealthRoutes(app, deps.readiness);

  const json = jsonBody(`${deps.bodyLimitBytes}b`);
  const jsonOrForm = jsonBody(`${deps.bodyLimitBytes}b`, { allowForm: true });

  app.get('/.well-known/jwks.json', jwksHandler(deps.jwks));
  app.use(
    '/api/v1/auth',
    authRoutes({
      auth: deps.auth,
      sessions: deps.sessions,
      authenticator: deps.authenticator,
      idleTimeoutSeconds: deps.idleTimeoutSeconds,
      json,
      jsonOrForm,
    }),
  );
  // Mounted at /api/v1 with full paths: under a mount at /api/v1/users, Express hands both
  // `/api/v1/users` and `/api/v1/users/` to the router as `/`, and strict routing could not tell them apart.
  app.use('/api/v1', userRoutes({ users: deps.users, authenticator: deps.authenticator, json }));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
