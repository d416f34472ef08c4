import type { RealtimeMessage } from '@concord/client';
import { createServiceApp, jsonBody, type Authenticator, type HttpFront } from '@concord/common';
import type { Express } from 'express';
import { realtimeRoutes } from './http/realtime.routes';

/** Everything the HTTP app needs, built by main.ts (or by tests). */
export interface AppDeps {
  /** What every app of the process shares (the bootstrap's `ctx.http`). */
  http: HttpFront;
  authenticator: Authenticator;
  publish(room: string, message: RealtimeMessage): void;
  newId: () => string;
  now: () => number;
  bodyLimitBytes: number;
}

/** Builds the realtime-service Express app (Socket.IO attaches to the same server). Never listens. */
export function createApp(deps: AppDeps): Express {
  return createServiceApp(deps.http, (app) => {
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
  });
}
