import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** How long a fetched key set is trusted (10 min; auth publishes a `next` key at least this long before using it). */
  cacheMaxAgeMs?: number;
  /** Minimum gap between refetches triggered by an unknown `kid` (bounds what a forged kid can cost). */
  cooldownMs?: number;
  timeoutMs?: number;
}

/**
 * The verifiers' key resolver: auth-service's JWKS at `JWKS_URL`, cached, refetched on an unknown
 * `kid` (rotation) at most once per cooldown. `kid` resolves only against this set — never against a
 * `jku`/`x5u`/embedded `jwk` in the token header (jose ignores those here).
 */
export function createRemoteKeySet(url: string, options: RemoteKeySetOptions = {}): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });
}
