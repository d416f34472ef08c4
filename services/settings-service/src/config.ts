import { baseEnvSchema, ConfigError, envBoolean, envInt, loadConfig, withBaseRules } from '@concord/common';
import { z } from 'zod';
import { apiSettings } from './domain/api.settings';
import { readEnvSettings } from './domain/setting-env';

const DEFAULT_MAX_ACCESS_TTL_SECONDS = 3_600;

const schema = withBaseRules(
  baseEnvSchema({ service: 'settings-service', port: 4201, metricsPort: 9201 }).extend({
    SETTINGS_REQUIRE_IF_MATCH: envBoolean(false),
    SETTINGS_BENCH_NAMESPACE: envBoolean(false),
    DATABASE_QUERY_TIMEOUT_MS: envInt(5_000, 100, 120_000),
    BODY_LIMIT_BYTES: envInt(16_384, 1_024, 1_048_576),
  }),
).superRefine((env, ctx) => {
  if (env.JWKS_URL === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['JWKS_URL'],
      message: "required: auth-service's JWKS (settings-service verifies access tokens, it never signs)",
    });
  }
});

/** settings-service configuration, parsed once at start. */
export type Config = Readonly<
  z.output<typeof schema> & {
    JWKS_URL: string;
    /** The `api` settings this process's environment pins (HOST, PORT, TLS_*, …), by key. */
    SETTINGS_ENV: ReadonlyMap<string, unknown>;
  }
>;

/**
 * Parses and freezes the environment; throws one ConfigError naming every bad key, including env
 * values that an `api` setting's own schema refuses (an env value may not go below a security floor
 * any more than a writer may).
 */
export function readConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  let base: z.output<typeof schema> | undefined;
  try {
    base = loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const api = apiSettings({
    maxAccessTtlSeconds: base?.JWT_MAX_ACCESS_TTL_SECONDS ?? DEFAULT_MAX_ACCESS_TTL_SECONDS,
  });
  const fromEnv = readEnvSettings(api, env);
  const named = new Set(problems.map((p) => p.split(':')[0]));
  problems.push(...fromEnv.problems.filter((p) => !named.has(p.split(':')[0])));
  if (problems.length > 0 || base === undefined) throw new ConfigError(problems);
  return Object.freeze({ ...base, JWKS_URL: base.JWKS_URL!, SETTINGS_ENV: fromEnv.values });
}
