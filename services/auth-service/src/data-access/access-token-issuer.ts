import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AccessTokenIssuer } from '../domain/auth.ports';
import type { KeyRing } from './key-ring';

/** Signs `at+jwt` access tokens (RFC 9068 header type) with the ring's current signing key. */
export function createAccessTokenIssuer(ring: KeyRing, issuer: string, audience: string): AccessTokenIssuer {
  return {
    async issue(claims, now, ttlSeconds) {
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
