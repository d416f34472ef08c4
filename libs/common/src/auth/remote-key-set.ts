import { createRemoteJWKSet, jwksCache, type ExportedJWKSCache, type JWKSCacheInput } from 'jose';
import { keySetFingerprint, type VerificationKeys } from './verification-keys';

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** How long a fetched key set is trusted (10 min; auth publishes a `next` key at least this long before using it). */
  cacheMaxAgeMs?: number;
  /** Minimum gap between refetches triggered by an unknown `kid` (bounds what a forged kid can cost). */
  cooldownMs?: number;
  timeoutMs?: number;
}

/**
 * The verifiers' key resolver: auth-service's JWKS at `JWKS_URL` (its internal listener), cached,
 * refetched on an unknown `kid` (rotation) at most once per cooldown. `kid` resolves only against
 * this set — never against a `jku`/`x5u`/embedded `jwk` in the token header (jose ignores those here).
 * The version changes when a refetch returns a different set, and is undefined once the set is older
 * than `cacheMaxAgeMs`: a verification cached under a key that auth has since retired must not
 * outlive the key set that justified it.
 */
export function createRemoteKeySet(url: string, options: RemoteKeySetOptions = {}): VerificationKeys {
  // jose records every successful fetch here (`uat`, `jwks`): the cheap way to notice a refetch.
  const fetched: JWKSCacheInput = {};
  const remote = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
    [jwksCache]: fetched,
  });
  let version = 0;
  let seenFetchAt: number | undefined;
  let fingerprint = '';

  function noticeRefetch(): void {
    const { uat, jwks } = fetched as Partial<ExportedJWKSCache>;
    if (uat === seenFetchAt) return;
    seenFetchAt = uat;
    const next = keySetFingerprint(jwks);
    if (next !== fingerprint) {
      fingerprint = next;
      version += 1;
    }
  }

  return {
    async getKey(header, token) {
      try {
        return await remote(header, token);
      } finally {
        // Whether the key was found or not, a refetch may have replaced the set.
        noticeRefetch();
      }
    },
    version: () => (remote.fresh ? version : undefined),
  };
}
