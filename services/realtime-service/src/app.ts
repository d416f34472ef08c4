import type { RealtimeMessage } from '@concord/client';
import {
  addHealthRoutes,
  jsonBody,
  notFoundHandler,
  observeRequests,
  problemHandler,
  requestContext,
  type Authenticator,
  type ClientIpResolver,
  type Logger,
  type Metrics,
  type ReadinessCheck,
} from '@concord/common';
import express, { type Express } from 'express';
import { realtimeRoutes } from './http/realtime.routes';

/** Everything the HTTP app needs, built by main.ts (or by tests). */
export interface AppDeps {
  authenticator: Authenticator;
  publish(room: string, message: RealtimeMessage): void;
  newId: () => string;
  now: () => number;
  resolveClientIp: ClientIpResolver;
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  replicaId: string;
  exposeReplicaHeader: boolean;
  bodyLimitBytes: number;
}

/** Builds the realtime-service Express app (Socket.IO attaches to the same server). Never listens. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.use(requestContext(deps));
  app.use(observeRequests(deps.logger, deps.metrics));
  addHealthRoutes(app, deps.readiness);
  app.use(
    '/api/v1/realtime',
    realtimeRoutes({
      authenticator: deps.authenticator,
      publish: deps.publish,
      newId: deps.newId,
      now: deps.now,
      json: jsonBody(`${deps.bodyLimitBytes}b`),
    }),
  );
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
