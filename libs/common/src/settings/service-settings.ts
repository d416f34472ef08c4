import type { RequestHandler } from 'express';
import type { Pool } from 'pg';
import { clientRateLimit } from '../http/client-rate-limit';
import { corsMiddleware } from '../http/cors';
import type { Logger } from '../logging/logger';
import type { Metrics } from '../ops/metrics';
import type { RedisClients } from '../redis/redis-clients';
import { apiSettings } from './api.settings';
import { apiRateLimitPolicy, apiStartSettings, type ApiStartSettings } from './api-settings-view';
import { redisEventsSubscription } from './events-subscription';
import type { NamespaceDefinition } from './setting-definition';
import { createSettingsFollower, type SettingsFollower } from './settings-follower';
import { createStoredSettingsSource } from './stored-settings';

/** Options of {@link startServiceSettings}. */
export interface ServiceSettingsOptions {
  /** The service's name, part of its rate-limit keys (each service counts on its own). */
  service: string;
  pool: Pick<Pool, 'query'>;
  redis: RedisClients;
  /** `REDIS_PREFIX`. */
  prefix: string;
  /** `config.SETTINGS_ENV`: what this process's environment pins. */
  envValues: ReadonlyMap<string, unknown>;
  /** `JWT_MAX_ACCESS_TTL_SECONDS`, the bound of `jwt_expiry_minutes` in this process. */
  maxAccessTtlSeconds: number;
  logger: Logger;
  metrics: Metrics;
  /** Namespaces followed besides `api` (realtime re-broadcasts `bench` too). */
  extraNamespaces?: readonly NamespaceDefinition[];
}

/** What every service gets from the `api` settings. */
export interface ServiceSettings {
  follower: SettingsFollower;
  /** The restart keys as of this start. */
  start: ApiStartSettings;
  /** The CORS middleware over `cors_allowed_origins`; mount it before the routes. */
  cors: RequestHandler;
  /** The per-client limit; run it after authentication (see rateLimitedAuth). */
  rateLimit: RequestHandler;
  stop(): void;
}

/**
 * Starts the settings follower of one process (subscribe, then read Postgres) and builds what the
 * `api` table says every service applies: the restart keys read once, CORS, and the general
 * per-client rate limit whose policy is read from the follower on every request.
 */
export async function startServiceSettings(options: ServiceSettingsOptions): Promise<ServiceSettings> {
  const follower = createSettingsFollower({
    namespaces: [
      apiSettings({ maxAccessTtlSeconds: options.maxAccessTtlSeconds }),
      ...(options.extraNamespaces ?? []),
    ],
    source: createStoredSettingsSource(options.pool),
    subscription: redisEventsSubscription(options.redis, options.prefix, options.logger),
    envValues: options.envValues,
    logger: options.logger,
  });
  await follower.start();
  const start = apiStartSettings(follower);
  const rejections = options.metrics.counter(
    'concord_rate_limit_rejections_total',
    'Authenticated API requests refused by the per-client rate limit',
    ['budget'],
  );
  const unavailable = options.metrics.counter(
    'concord_rate_limit_uncounted_total',
    'Authenticated API requests let through uncounted because Redis could not count them',
    [],
  );
  return {
    follower,
    start,
    cors: corsMiddleware({ allowedOrigins: start.corsAllowedOrigins }),
    rateLimit: clientRateLimit({
      redis: options.redis.commands,
      keyPrefix: `${options.prefix}ratelimit:${options.service}:`,
      policy: apiRateLimitPolicy(follower),
      excludePaths: start.rateLimitExcludePaths,
      onRejected: () => rejections.inc({ budget: 'client' }),
      onUnavailable: (err) => {
        unavailable.inc();
        options.logger.debug({ err }, 'rate limit not counted: Redis unavailable');
      },
    }),
    stop: () => follower.stop(),
  };
}
