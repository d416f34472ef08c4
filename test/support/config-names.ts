import { API_SETTING_ENV } from '@concord/common';

/**
 * The names of `env` that a parsed service config does not know: neither one of its own keys nor
 * the env name of an `api` setting it parsed into `SETTINGS_ENV` (RATE_LIMIT_*, CORS_ALLOWED_ORIGINS,
 * JWT_EXPIRY_MINUTES, …; libs/common setting-env.ts).
 */
export function unknownEnvNames(env: Record<string, unknown>, config: Record<string, unknown>): string[] {
  const pinned = config.SETTINGS_ENV instanceof Map ? config.SETTINGS_ENV : new Map<string, unknown>();
  return Object.keys(env).filter(
    (name) => !(name in config) && !API_SETTING_ENV.some((b) => b.env === name && pinned.has(b.key)),
  );
}
