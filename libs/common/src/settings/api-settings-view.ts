import { z } from 'zod';
import type { RateLimitPolicy } from '../http/client-rate-limit';
import type { Cidr } from '../net/trusted-proxies';
import { parseCidr } from '../net/trusted-proxies';
import type { SettingsFollower } from './settings-follower';

/** The `api` restart keys as a process applies them at start (env > stored > default). */
export interface ApiStartSettings {
  /** `server_host` (env `HOST`). */
  host: string;
  /** `trusted_proxies` (env `TRUSTED_PROXIES`), parsed. */
  trustedProxies: Cidr[];
  /** `ssl_certfile`, `ssl_keyfile`, `ssl_ca_certs` (env `TLS_*`); undefined when the pair is unset. */
  tls?: { cert: string; key: string; ca?: string };
  /** `cors_allowed_origins` (env `CORS_ALLOWED_ORIGINS`). */
  corsAllowedOrigins: string[];
  /** `rate_limit_exclude_paths` (env `RATE_LIMIT_EXCLUDE_PATHS`). */
  rateLimitExcludePaths: string[];
}

const text = z.string();
const texts = z.array(z.string());
const unit = z.enum(['second', 'minute', 'hour', 'day']);
const count = z.int().positive();

/**
 * Reads the restart keys once (the follower has resolved and validated them at its start; the
 * parse here only narrows the type). `server_port` is not among them: every replica's port comes
 * from its own `PORT`, which the stack always sets (DESIGN.md section 5).
 */
export function apiStartSettings(follower: SettingsFollower): ApiStartSettings {
  const cert = text.parse(follower.value('ssl_certfile'));
  const key = text.parse(follower.value('ssl_keyfile'));
  const ca = text.parse(follower.value('ssl_ca_certs'));
  return {
    host: text.parse(follower.value('server_host')),
    trustedProxies: texts.parse(follower.value('trusted_proxies')).map(parseCidr),
    // The pair is validated together where it is written (tlsPairRule) and in each env (config.ts).
    tls: cert !== '' && key !== '' ? { cert, key, ...(ca !== '' ? { ca } : {}) } : undefined,
    corsAllowedOrigins: texts.parse(follower.value('cors_allowed_origins')),
    rateLimitExcludePaths: texts.parse(follower.value('rate_limit_exclude_paths')),
  };
}

/**
 * The live `rate_limit_*` pair, read on every call (so on every request). The follower's values
 * are validated already; the parse only narrows their type, so it runs once per change of either
 * value (both are primitives) rather than on every request.
 */
export function apiRateLimitPolicy(follower: SettingsFollower): () => RateLimitPolicy {
  let memo: { max: unknown; unit: unknown; policy: RateLimitPolicy } | undefined;
  return () => {
    const max = follower.value('rate_limit_max_requests');
    const timeUnit = follower.value('rate_limit_time_unit');
    if (memo && memo.max === max && memo.unit === timeUnit) return memo.policy;
    const policy = { maxRequests: count.parse(max), timeUnit: unit.parse(timeUnit) };
    memo = { max, unit: timeUnit, policy };
    return policy;
  };
}

/** The live keys auth-service applies, read on every call (so for every token and password). */
export interface ApiAuthPolicy {
  /** `jwt_expiry_minutes` in seconds (bounded by `JWT_MAX_ACCESS_TTL_SECONDS` in the follower). */
  accessTtlSeconds: () => number;
  /** `min_password_length`. */
  minPasswordLength: () => number;
}

/** {@link ApiAuthPolicy} over `follower`. */
export function apiAuthPolicy(follower: SettingsFollower): ApiAuthPolicy {
  return {
    accessTtlSeconds: () => count.parse(follower.value('jwt_expiry_minutes')) * 60,
    minPasswordLength: () => count.parse(follower.value('min_password_length')),
  };
}
