import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';

/**
 * The keys a token verifier resolves `kid`s against, and which key set is in force. The verifier
 * trusts a cached verification only under the version it was made under (DESIGN.md section 4,
 * "Verified-token cache"), so a key that is retired or removed stops counting at once.
 */
export interface VerificationKeys {
  /** jose key resolver: a token's `kid` is resolved against this set only. */
  getKey: JWTVerifyGetKey;
  /**
   * Changes whenever the set changes (a key added, retired or removed). `undefined` while the set
   * is stale and must be fetched again before any cached verification may count.
   */
  version(): number | undefined;
}

/**
 * A canonical text of a key set: the same keys give the same text whatever the order of keys or
 * members, so a refetch that returns the same set is not mistaken for a change.
 */
export function keySetFingerprint(jwks: JSONWebKeySet | undefined): string {
  if (!jwks) return '';
  const canonical = jwks.keys.map((key) =>
    JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
  return JSON.stringify(canonical.sort());
}
