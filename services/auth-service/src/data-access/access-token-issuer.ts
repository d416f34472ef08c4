import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AccessTokenIssuer } from '../domain/auth.ports';
import type { KeyRing } from './key-ring';

/** Options of {@link createAccessTokenIssuer}. */
export interface AccessTokenIssuerOptions {
  ring: KeyRing;
  issuer: string;
  audience: string;
  /** `JWT_MAX_ACCESS_TTL_SECONDS`: every verifier refuses a token that lives longer. */
  maxTtlSeconds: number;
}

/** Signs `at+jwt` access tokens (RFC 9068 header type) with the ring's current signing key. */
export function createAccessTokenIssuer(options: AccessTokenIssuerOptions): AccessTokenIssuer {
  const { ring, issuer, audience, maxTtlSeconds } = options;
  return {
    async issue(claims, now, ttlSeconds) {
      // The jwt_expiry_minutes schema bounds the lifetime already (env and stored value alike); one
      // that slipped past it must fail loudly rather than mint tokens nobody accepts.
      if (ttlSeconds > maxTtlSeconds) {
        throw new Error(
          `access-token lifetime ${ttlSeconds} s exceeds JWT_MAX_ACCESS_TTL_SECONDS (${maxTtlSeconds})`,
        );
      }
      const { kid, key } = ring.signingKey();
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({ role: claims.role, sid: claims.sid, preferred_username: claims.username })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(claims.sub)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(key);
    },
  };
}
