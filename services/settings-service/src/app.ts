import { createServiceApp, jsonBody, type Authenticator, type HttpFront } from '@concord/common';
import type { Express } from 'express';
import type { SettingsReader } from './domain/settings-reader';
import type { SettingsWriter } from './domain/settings-writer';
import { settingsRoutes } from './http/settings.routes';

/** Everything the HTTP app needs, built by main.ts (or by tests). */
export interface AppDeps {
  /** What every app of the process shares (the bootstrap's `ctx.http`). */
  http: HttpFront;
  reader: SettingsReader;
  writer: SettingsWriter;
  authenticator: Authenticator;
  bodyLimitBytes: number;
}

/**
 * Builds the settings-service Express app. Never listens. ETags are the settings' revisions, set by
 * the handlers (the shared app turns Express's body-hash ETags off: they would be weak validators
 * of a different thing).
 */
export function createApp(deps: AppDeps): Express {
  return createServiceApp(deps.http, (app) => {
    app.use(
      '/api/v1/settings',
      settingsRoutes({
        reader: deps.reader,
        writer: deps.writer,
        authenticator: deps.authenticator,
        json: jsonBody(`${deps.bodyLimitBytes}b`),
      }),
    );
  });
}
