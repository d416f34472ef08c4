import {
  baseEnvSchema,
  envInt,
  envPort,
  loadConfig,
  loadConfigWithApiSettings,
  withBaseRules,
  type WithApiSettingsEnv,
} from '@concord/common';
import { z } from 'zod';

const DAY = 86_400;

const checkedSchema = withBaseRules(
  baseEnvSchema({ service: 'auth-service', port: 4101, metricsPort: 9101 }).extend({
    JWT_KEYS_FILE: z.string().min(1, 'required: the private JWK set shared by every auth replica'),
    // The JWKS-and-health listener for sibling services (DESIGN.md section 4).
    INTERNAL_PORT: envPort(4111),
    REFRESH_TOKEN_SECRET: z
      .string()
      .min(
        32,
        'at least 32 characters (HMAC key deriving rotated refresh tokens; shared by every auth replica)',
      ),
    // Replaced by JWT_EXPIRY_MINUTES (the `api` setting jwt_expiry_minutes, DESIGN.md section 7):
    // refused rather than ignored, so an operator who still sets it learns that it has no effect.
    ACCESS_TOKEN_TTL_SECONDS: z
      .undefined({ error: 'replaced by JWT_EXPIRY_MINUTES (minutes; the jwt_expiry_minutes setting)' })
      .optional(),
    REFRESH_GRACE_SECONDS: envInt(10, 0, 10),
    SESSION_IDLE_TIMEOUT_SECONDS: envInt(7 * DAY, 300, 90 * DAY),
    SESSION_ABSOLUTE_LIFETIME_SECONDS: envInt(30 * DAY, 600, 365 * DAY),
    SESSION_RETENTION_SECONDS: envInt(30 * DAY, 0, 3_650 * DAY),
    SESSION_CLEANUP_INTERVAL_SECONDS: envInt(3_600, 1, DAY),
    ARGON2_MEMORY_KIB: envInt(19_456, 19_456, 1_048_576),
    ARGON2_TIME_COST: envInt(2, 2, 10),
    ARGON2_PARALLELISM: envInt(1, 1, 16),
    // The three failed-login budgets of DESIGN.md section 4 (docs/decisions/007-login-throttling.md).
    LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: envInt(5, 1, 10_000),
    LOGIN_FAILURES_PER_ADDRESS: envInt(50, 1, 10_000),
    LOGIN_FAILURES_PER_ACCOUNT: envInt(10, 1, 10_000),
    LOGIN_FAILURE_WINDOW_SECONDS: envInt(900, 60, DAY),
    LOGIN_BASE_DELAY_MS: envInt(1_000, 10, 60_000),
    LOGIN_MAX_DELAY_MS: envInt(60_000, 100, 3_600_000),
    REFRESH_RATE_LIMIT_PER_MINUTE: envInt(120, 1, 100_000),
    BODY_LIMIT_BYTES: envInt(16_384, 1_024, 1_048_576),
  }),
).superRefine((env, ctx) => {
  if (env.SESSION_IDLE_TIMEOUT_SECONDS > env.SESSION_ABSOLUTE_LIFETIME_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      path: ['SESSION_IDLE_TIMEOUT_SECONDS'],
      message: 'must not exceed SESSION_ABSOLUTE_LIFETIME_SECONDS',
    });
  }
  if (env.LOGIN_BASE_DELAY_MS > env.LOGIN_MAX_DELAY_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['LOGIN_BASE_DELAY_MS'],
      message: 'must not exceed LOGIN_MAX_DELAY_MS',
    });
  }
});

/** Cross-key bounds on ports; the values may be unparsed when other keys failed. */
function checkLimits(env: Partial<Record<string, unknown>>, ctx: z.RefinementCtx): void {
  const internal = env.INTERNAL_PORT;
  if (typeof internal === 'number' && internal !== 0 && [env.PORT, env.METRICS_PORT].includes(internal)) {
    ctx.addIssue({
      code: 'custom',
      path: ['INTERNAL_PORT'],
      message: 'must differ from PORT and METRICS_PORT',
    });
  }
}

// Reported together with any other bad key (zod 4 skips refinements once a key has failed).
const schema = checkedSchema.superRefine(checkLimits, {
  when: (payload) => typeof payload.value === 'object' && payload.value !== null,
});

/** auth-service configuration, parsed once at start. */
export type Config = WithApiSettingsEnv<z.output<typeof schema>>;

/**
 * Parses and freezes the environment; throws a ConfigError naming every bad key. The token
 * lifetime (`JWT_EXPIRY_MINUTES`, at most `JWT_MAX_ACCESS_TTL_SECONDS` / 60) and the minimum
 * password length (`MIN_PASSWORD_LENGTH`, 12–128) are `api` settings: their env values are this
 * process's defaults, checked against the settings' own bounds, and a stored value wins.
 */
export function readConfig(env: Record<string, string | undefined>): Config {
  return loadConfigWithApiSettings(schema, env);
}

const keysCliSchema = baseEnvSchema({ service: 'keys-cli', port: 0, metricsPort: 0 }).pick({
  JWT_MAX_ACCESS_TTL_SECONDS: true,
  JWT_CLOCK_TOLERANCE_SECONDS: true,
});

/** The settings the key CLI takes from the environment (the bound on token lifetimes). */
export type KeysCliConfig = Readonly<z.output<typeof keysCliSchema>>;

/** Parses the key CLI's environment; throws a ConfigError naming every bad key. */
export function readKeysCliConfig(env: Record<string, string | undefined>): KeysCliConfig {
  return loadConfig(keysCliSchema, env);
}

const restoreCliSchema = baseEnvSchema({ service: 'restore-fixup', port: 0, metricsPort: 0 }).pick({
  DATABASE_URL: true,
  REDIS_URL: true,
  REDIS_PREFIX: true,
  JWT_MAX_ACCESS_TTL_SECONDS: true,
});

/** The settings the restore fixup takes from the environment (the services' own names). */
export type RestoreCliConfig = Readonly<z.output<typeof restoreCliSchema>>;

/** Parses the restore fixup's environment; throws a ConfigError naming every bad key. */
export function readRestoreCliConfig(env: Record<string, string | undefined>): RestoreCliConfig {
  return loadConfig(restoreCliSchema, env);
}
