import { hostname } from 'node:os';
import { z } from 'zod';
import {
  envBoolean,
  envInt,
  envPort,
  envUrl,
  optionalEnvUrl,
  logLevel,
  optionalFile,
  redisClusterNodes,
  trustedProxies,
} from './env-types';

/** Defaults that differ per service. */
export interface ServiceDefaults {
  service: string;
  port: number;
  metricsPort: number;
}

/**
 * The canonical env names every service shares (DESIGN.md section 7). Services extend the returned
 * object schema with their own keys and pass the result to {@link loadConfig}.
 */
export function baseEnvSchema(defaults: ServiceDefaults) {
  return z.object({
    HOST: z.preprocess((v) => (v === '' || v === undefined ? '127.0.0.1' : v), z.string()),
    PORT: envPort(defaults.port),
    METRICS_PORT: envPort(defaults.metricsPort),
    DATABASE_URL: envUrl('postgresql://postgres@127.0.0.1:5432/concord', ['postgresql:', 'postgres:']),
    REDIS_URL: envUrl('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    // When set it replaces REDIS_URL: every client of the process goes to the cluster.
    REDIS_CLUSTER_NODES: redisClusterNodes,
    REDIS_PREFIX: z.preprocess(
      (v) => (v === '' || v === undefined ? 'concord:' : v),
      z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only'),
    ),
    TRUSTED_PROXIES: trustedProxies,
    TLS_CERT_FILE: optionalFile,
    TLS_KEY_FILE: optionalFile,
    TLS_CA_FILE: optionalFile,
    JWT_ISSUER: z.preprocess(
      (v) => (v === '' || v === undefined ? 'https://localhost:8443' : v),
      z.string().min(1),
    ),
    JWT_AUDIENCE: z.preprocess((v) => (v === '' || v === undefined ? 'concord' : v), z.string().min(1)),
    JWKS_URL: optionalEnvUrl(['http:', 'https:']),
    JWT_CLOCK_TOLERANCE_SECONDS: envInt(60, 0, 60),
    // Static on purpose: verifiers refuse a token whose exp - iat exceeds it, whatever issued it.
    JWT_MAX_ACCESS_TTL_SECONDS: envInt(3_600, 60, 86_400),
    REVOCATION_LEASE_MS: envInt(10_000, 500, 300_000),
    REVOCATION_CLOCK_SKEW_MS: envInt(250, 0, 10_000),
    REPLICA_ID: z.preprocess(
      (v) => (v === '' || v === undefined ? `${defaults.service}-${hostname()}-${process.pid}` : v),
      z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits and . _ : - only'),
    ),
    EXPOSE_REPLICA_HEADER: envBoolean(false),
    LOG_LEVEL: logLevel,
    // At info a request is logged only when it failed, was refused or took at least this long.
    SLOW_REQUEST_MS: envInt(1_000, 1, 600_000),
    SHUTDOWN_GRACE_MS: envInt(10_000, 0, 120_000),
  });
}

/** The TLS keys {@link checkTlsPairing} looks at. */
export interface TlsEnv {
  TLS_CERT_FILE?: string;
  TLS_KEY_FILE?: string;
  TLS_CA_FILE?: string;
}

/**
 * TLS pairing rules shared by every service (DESIGN.md section 7). Prefer {@link withTlsPairing}:
 * zod 4 skips a plain `.superRefine(checkTlsPairing)` whenever any other key is invalid.
 */
export function checkTlsPairing(env: TlsEnv, ctx: z.RefinementCtx): void {
  const cert = env.TLS_CERT_FILE !== undefined;
  const key = env.TLS_KEY_FILE !== undefined;
  if (cert !== key) {
    ctx.addIssue({
      code: 'custom',
      path: [cert ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'],
      message: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together',
    });
  }
  if (env.TLS_CA_FILE !== undefined && !(cert && key)) {
    ctx.addIssue({
      code: 'custom',
      path: ['TLS_CA_FILE'],
      message: 'TLS_CA_FILE (client-certificate verification) requires TLS_CERT_FILE and TLS_KEY_FILE',
    });
  }
}

/**
 * Adds {@link checkTlsPairing} to `schema` so that it runs even when other keys are invalid. zod 4
 * skips refinements once a key has failed, so with a plain `.superRefine(checkTlsPairing)` an
 * operator would learn about a half-configured TLS pair only after fixing every other key, against
 * the "one message naming every bad key" rule. A key that failed (e.g. a missing file) still counts
 * as set here, which is what the operator wrote.
 */
export function withTlsPairing<S extends z.ZodType<TlsEnv>>(schema: S): S {
  return schema.superRefine(checkTlsPairing, {
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });
}

/** The revocation timing keys {@link checkRevocationTiming} looks at. */
export interface RevocationTimingEnv {
  REVOCATION_LEASE_MS?: unknown;
  REVOCATION_CLOCK_SKEW_MS?: unknown;
}

/**
 * `REVOCATION_CLOCK_SKEW_MS` must stay below half of `REVOCATION_LEASE_MS` (DESIGN.md section 4).
 * The skew is a margin carved out of the lease (decision 001): a process trusts the newest
 * heartbeat only while it is younger than `lease - skew`, and heartbeats come every quarter lease
 * and may already look up to `skew` old. Once the skew reaches half the lease the margin leaves too
 * little room for that, and healthy replicas start refusing authenticated requests. Only checked
 * when both values are integers; otherwise their own issues already name them.
 */
export function checkRevocationTiming(env: RevocationTimingEnv, ctx: z.RefinementCtx): void {
  const lease = env.REVOCATION_LEASE_MS;
  const skew = env.REVOCATION_CLOCK_SKEW_MS;
  if (!Number.isInteger(lease) || !Number.isInteger(skew)) return;
  if ((skew as number) * 2 >= (lease as number)) {
    ctx.addIssue({
      code: 'custom',
      path: ['REVOCATION_CLOCK_SKEW_MS'],
      message: 'must be below half of REVOCATION_LEASE_MS',
    });
  }
}

/**
 * Adds every cross-key rule of the shared keys ({@link checkTlsPairing}, {@link checkRevocationTiming})
 * to `schema`, each run even when other keys are invalid (see {@link withTlsPairing}), so that one
 * ConfigError still names every bad key. Every service's config.ts wraps its schema with it.
 */
export function withBaseRules<S extends z.ZodType<TlsEnv & RevocationTimingEnv>>(schema: S): S {
  return withTlsPairing(schema).superRefine(checkRevocationTiming, {
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });
}
