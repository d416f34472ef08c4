import {
  baseEnvSchema,
  envInt,
  loadConfigWithApiSettings,
  withTlsPairing,
  type WithApiSettingsEnv,
} from '@concord/common';
import { z } from 'zod';

const schema = withTlsPairing(
  baseEnvSchema({ service: 'realtime-service', port: 4301, metricsPort: 9301 }).extend({
    SOCKETIO_ADAPTER: z.preprocess(
      (v) => (v === '' || v === undefined ? 'classic' : v),
      z.enum(['classic', 'sharded']),
    ),
    REALTIME_MAX_SOCKETS_PER_USER: envInt(20, 1, 10_000),
    REALTIME_EVENTS_PER_SECOND: envInt(20, 1, 10_000),
    REALTIME_EVENT_BURST: envInt(40, 1, 100_000),
    REALTIME_FLOOD_DISCONNECT_AFTER: envInt(20, 1, 100_000),
    REALTIME_DRAIN_MS: envInt(2_000, 0, 60_000),
    SOCKETIO_PING_INTERVAL_MS: envInt(25_000, 1_000, 300_000),
    SOCKETIO_PING_TIMEOUT_MS: envInt(20_000, 1_000, 300_000),
    PRESENCE_NODE_TTL_MS: envInt(10_000, 500, 60_000),
    PRESENCE_HEARTBEAT_MS: envInt(3_000, 100, 30_000),
    PRESENCE_SWEEP_MS: envInt(2_000, 100, 30_000),
    BODY_LIMIT_BYTES: envInt(32_768, 1_024, 1_048_576),
  }),
).superRefine((env, ctx) => {
  if (env.JWKS_URL === undefined) {
    ctx.addIssue({ code: 'custom', path: ['JWKS_URL'], message: "required: auth-service's JWKS" });
  }
  // Two heartbeats per TTL at least: one lost or late heartbeat must not get a live node reaped.
  if (env.PRESENCE_HEARTBEAT_MS * 2 >= env.PRESENCE_NODE_TTL_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['PRESENCE_HEARTBEAT_MS'],
      message: 'must be below half of PRESENCE_NODE_TTL_MS',
    });
  }
});

/** realtime-service configuration, parsed once at start. */
export type Config = WithApiSettingsEnv<z.output<typeof schema>>;

/** Parses and freezes the environment; throws a ConfigError naming every bad key (api settings included). */
export function readConfig(env: Record<string, string | undefined>): Config {
  return loadConfigWithApiSettings(schema, env);
}
