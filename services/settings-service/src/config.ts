import {
  baseEnvSchema,
  envBoolean,
  envInt,
  loadConfigWithApiSettings,
  withBaseRules,
  type WithApiSettingsEnv,
} from '@concord/common';
import { z } from 'zod';

const schema = withBaseRules(
  baseEnvSchema({ service: 'settings-service', port: 4201, metricsPort: 9201 }).extend({
    SETTINGS_REQUIRE_IF_MATCH: envBoolean(false),
    SETTINGS_BENCH_NAMESPACE: envBoolean(false),
    DATABASE_QUERY_TIMEOUT_MS: envInt(5_000, 100, 120_000),
    BODY_LIMIT_BYTES: envInt(16_384, 1_024, 1_048_576),
    // Every replica drains the outbox by default (docs/decisions/009-outbox.md); `false` leaves this
    // replica's own commits to the others' relays (operations; the tests of a crash before publish).
    SETTINGS_OUTBOX_RELAY: envBoolean(true),
    // A replica kicks its relay after each of its own commits; the poll catches everyone else's.
    SETTINGS_OUTBOX_POLL_INTERVAL_MS: envInt(500, 50, 60_000),
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
export type Config = WithApiSettingsEnv<z.output<typeof schema> & { JWKS_URL: string }>;

/**
 * Parses and freezes the environment; throws one ConfigError naming every bad key, including env
 * values that an `api` setting's own schema refuses (an env value may not go below a security floor
 * any more than a writer may).
 */
export function readConfig(env: Record<string, string | undefined>): Config {
  // JWKS_URL is required by the refinement above.
  return loadConfigWithApiSettings(schema, env) as Config;
}
