import type { z } from 'zod';
import { baseEnvSchema } from '../config/base-config';
import { ConfigError, loadConfig } from '../config/load-config';
import { apiSettings } from './api.settings';
import { readEnvSettings } from './setting-env';

/** The default of `JWT_MAX_ACCESS_TTL_SECONDS`, the bound used when that key itself is invalid. */
const DEFAULT_MAX_ACCESS_TTL_SECONDS = 3_600;

const MAX_TTL = baseEnvSchema({ service: 'any', port: 0, metricsPort: 0 }).shape.JWT_MAX_ACCESS_TTL_SECONDS;

/** A service's config plus the `api` settings its environment pins. */
export type WithApiSettingsEnv<T> = Readonly<
  T & {
    /** The `api` settings this process's environment pins (HOST, TRUSTED_PROXIES, RATE_LIMIT_*, …), by key. */
    SETTINGS_ENV: ReadonlyMap<string, unknown>;
  }
>;

/**
 * {@link loadConfig}, plus the env names of the `api` settings (setting-env.ts) checked against
 * each setting's own schema: an environment may no more go below a security floor
 * (`MIN_PASSWORD_LENGTH=8`) than a writer may. One ConfigError names every bad key; a key the
 * service schema already refused is not reported twice.
 */
export function loadConfigWithApiSettings<S extends z.ZodType<{ JWT_MAX_ACCESS_TTL_SECONDS: number }>>(
  schema: S,
  env: Record<string, string | undefined>,
): WithApiSettingsEnv<z.output<S>> {
  const problems: string[] = [];
  let base: Readonly<z.output<S>> | undefined;
  try {
    base = loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  // The bound of jwt_expiry_minutes, also when another key failed (so both are reported at once).
  const maxTtl = MAX_TTL.safeParse(env.JWT_MAX_ACCESS_TTL_SECONDS);
  const api = apiSettings({
    maxAccessTtlSeconds:
      base?.JWT_MAX_ACCESS_TTL_SECONDS ?? (maxTtl.success ? maxTtl.data : DEFAULT_MAX_ACCESS_TTL_SECONDS),
  });
  const fromEnv = readEnvSettings(api, env);
  const named = new Set(problems.map((p) => p.split(':')[0]));
  problems.push(...fromEnv.problems.filter((p) => !named.has(p.split(':')[0])));
  if (problems.length > 0 || base === undefined) throw new ConfigError(problems);
  return Object.freeze({ ...base, SETTINGS_ENV: fromEnv.values }) as WithApiSettingsEnv<z.output<S>>;
}
