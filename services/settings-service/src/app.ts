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
import type { SettingsReader } from './domain/settings-reader';
import type { SettingsWriter } from './domain/settings-writer';
import { settingsRoutes } from './http/settings.routes';

/** Everything the HTTP app needs, built by main.ts (or by tests). */
export interface AppDeps {
  reader: SettingsReader;
  writer: SettingsWriter;
  authenticator: Authenticator;
  resolveClientIp: ClientIpResolver;
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  replicaId: string;
  exposeReplicaHeader: boolean;
  bodyLimitBytes: number;
}

/** Builds the settings-service Express app. Never listens. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags are the settings' revisions, set by the handlers; Express's body hashes would be weak
  // validators of a different thing.
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(requestContext(deps));
  app.use(observeRequests(deps.logger, deps.metrics));
  addHealthRoutes(app, deps.readiness);
  app.use(
    '/api/v1/settings',
    settingsRoutes({
      reader: deps.reader,
      writer: deps.writer,
      authenticator: deps.authenticator,
      json: jsonBody(`${deps.bodyLimitBytes}b`),
    }),
  );
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
