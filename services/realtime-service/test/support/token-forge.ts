import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

/** Claims a test signs into a token. */
export interface ForgedClaims {
  sub: string;
  sid: string;
  role: string;
  /** Seconds from now (default 300). */
  expiresIn?: number;
}

/**
 * Signs access tokens with the auth harness' active key (a token auth-service could have issued,
 * e.g. one expiring in a few seconds) or with a key of the attacker's own (a forgery).
 */
export async function tokenForge(keyFile: string, issuer = 'https://localhost:8443', audience = 'concord') {
  const file = JSON.parse(readFileSync(keyFile, 'utf8')) as {
    keys: (JWK & { kid: string; status: string })[];
  };
  const active = file.keys.find((k) => k.status === 'active')!;
  const genuineKey = await importJWK(active, 'EdDSA');
  const forgedKey = (await generateKeyPair('EdDSA')).privateKey;

  function sign(claims: ForgedClaims, key: Parameters<SignJWT['sign']>[0], kid: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: claims.sid, role: claims.role, jti: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setSubject(claims.sub)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + (claims.expiresIn ?? 300))
      .sign(key);
  }
  return {
    genuine: (claims: ForgedClaims) => sign(claims, genuineKey, active.kid),
    /** Same kid, attacker's key: must fail signature verification. */
    forged: (claims: ForgedClaims) => sign(claims, forgedKey, active.kid),
  };
}
