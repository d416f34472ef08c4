import {
  runService,
  startService,
  type RunningService,
  type ServiceContext,
  type ServiceParts,
  type StartOptions,
  type Authenticator,
} from '@concord/common';
import type { Pool } from 'pg';
import { createApp } from './app';
import { readConfig, type Config } from './config';
import { createSettingsRepository } from './data-access/settings.repository';
import { apiSettings } from './domain/api.settings';
import { benchSettings } from './domain/bench.settings';
import { createSettingRegistry, RegistryError, type SettingRegistry } from './domain/setting-registry';
import { createSettingsReader } from './domain/settings-reader';
import { createSettingsWriter } from './domain/settings-writer';

/** A running settings-service process. */
export type RunningSettingsService = RunningService;

/** settings-service's wiring, called by the shared bootstrap with the clients it built. */
function wire(
  ctx: ServiceContext<Config> & { pool: Pool; authenticator: Authenticator },
  registry: SettingRegistry,
): ServiceParts {
  const { config } = ctx;
  const context = {
    registry,
    // TODO(outbox merge): `events: 'outbox'` once migration 20261201000100_outbox (libs/common's
    // outbox module) is on this branch, plus its relay publishing to `{REDIS_PREFIX}events`.
    store: createSettingsRepository(ctx.pool, { events: 'none' }),
    envValues: config.SETTINGS_ENV,
  };
  return {
    app: createApp({
      http: ctx.http,
      reader: createSettingsReader(context),
      writer: createSettingsWriter({ ...context, requireIfMatch: config.SETTINGS_REQUIRE_IF_MATCH }),
      authenticator: ctx.authenticator,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
    }),
  };
}

/**
 * Starts settings-service on the shared bootstrap (libs/common `startService`). Exported so
 * in-process integration tests can start real replicas on port 0. Settings-service verifies access
 * tokens against auth-service's JWKS and never signs any.
 */
export async function startSettingsService(
  config: Config,
  options: StartOptions = {},
): Promise<RunningSettingsService> {
  // Before any client exists: a definition contradicting itself stops the process here.
  const registry = createSettingRegistry([
    apiSettings({ maxAccessTtlSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS }),
    ...(config.SETTINGS_BENCH_NAMESPACE ? [benchSettings()] : []),
  ]);
  return startService(
    config,
    {
      name: 'settings-service',
      features: { database: { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS }, remoteJwks: true },
      build: (ctx) => wire(ctx, registry),
    },
    options,
  );
}

if (require.main === module) {
  void runService({
    name: 'settings-service',
    readConfig: () => readConfig(process.env),
    start: startSettingsService,
    operatorErrors: [RegistryError],
  });
}
