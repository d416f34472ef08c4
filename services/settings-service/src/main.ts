import {
  apiSettings,
  benchSettings,
  runService,
  SETTINGS_CHANGED,
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
import { createSettingsEventsRelay, kickingAfterCommit } from './data-access/settings-events.relay';
import { createSettingsRepository } from './data-access/settings.repository';
import { createSettingRegistry, RegistryError, type SettingRegistry } from './domain/setting-registry';
import { createSettingsReader } from './domain/settings-reader';
import { createSettingsWriter } from './domain/settings-writer';

/** A running settings-service process. */
export type RunningSettingsService = RunningService;

/** settings-service's wiring, called by the shared bootstrap with the clients it built. */
async function wire(
  ctx: ServiceContext<Config> & { pool: Pool; authenticator: Authenticator },
  registry: SettingRegistry,
): Promise<ServiceParts> {
  const { config, metrics } = ctx;
  // Every committed change's event is written by its own CAS statement (events: 'outbox') and
  // published after the commit by any replica's relay (docs/decisions/009-outbox.md).
  const relay = config.SETTINGS_OUTBOX_RELAY
    ? createSettingsEventsRelay({
        pool: ctx.pool,
        redis: ctx.redis.commands,
        prefix: config.REDIS_PREFIX,
        logger: ctx.logger,
        pollIntervalMs: config.SETTINGS_OUTBOX_POLL_INTERVAL_MS,
      })
    : undefined;
  if (relay) {
    await ctx.background('the settings.changed outbox relay', relay);
    metrics.gauge(
      'concord_settings_outbox_lag_seconds',
      'Age of the oldest settings.changed event not yet published (outbox)',
      () => relay.backlog(SETTINGS_CHANGED).oldestAgeMs / 1000,
    );
  }
  const context = {
    registry,
    store: kickingAfterCommit(createSettingsRepository(ctx.pool, { events: 'outbox' }), relay),
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
      features: {
        database: { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS },
        remoteJwks: true,
        settings: {},
      },
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
