import { errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../errors/app-error';
import type { Clock } from '../ops/clock';
import type { VerificationKeys } from './verification-keys';

/** Roles of DESIGN.md section 4. */
export const ROLES = ['ceo', 'manager', 'member', 'observer'] as const;
/** A user's role. */
export type Role = (typeof ROLES)[number];

/** The claims Concord relies on after verification. */
export interface AccessClaims {
  sub: string;
  sid: string;
  jti: string;
  role: Role;
  iat: number;
  exp: number;
  /** `preferred_username` (OIDC): usernames never change, so services need no user lookup. */
  username?: string;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** The key set: {@link createRemoteKeySet}(`JWKS_URL`) in verifiers, the local key ring in auth-service. */
  keys: VerificationKeys;
  issuer: string;
  audience: string;
  /** Allow-list; anything else (none, HS256 with the public key, …) is refused before any crypto. */
  algorithms: string[];
  clockToleranceSeconds: number;
  /**
   * `JWT_MAX_ACCESS_TTL_SECONDS`: a token whose `exp - iat` exceeds it is refused however well it is
   * signed, so a leaked signing key or a misconfigured issuer cannot mint long-lived tokens.
   */
  maxLifetimeSeconds: number;
  clock: Clock;
  /** Verified-token cache capacity (0 disables). */
  cacheSize?: number;
}

/** Maximum accepted token length (DESIGN.md section 3: oversized > 8 KiB). */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** Verifies access tokens. */
export interface TokenVerifier {
  verify(token: string): Promise<AccessClaims>;
  /**
   * The synchronous fast path: the claims of a token verified before and not yet expired, else
   * undefined (then call {@link TokenVerifier.verify}). Lets the per-request check avoid promise
   * hops for the common case of a client reusing its token.
   */
  verifyCached(token: string): AccessClaims | undefined;
}

// The problem middleware adds the RFC 6750 challenge (`WWW-Authenticate: Bearer error="invalid_token"`).
function unauthorized(detail: string): AppError {
  return new AppError('UNAUTHORIZED', detail);
}

/**
 * jose reports some key-set fetch failures as JOSEErrors: a timeout (`JWKSTimeout`), a malformed
 * set (`JWKSInvalid`) and a non-200 or non-JSON answer (a plain `ERR_JOSE_GENERIC`). They say the
 * key server is unwell, not that the token is bad, so they must not turn into 401s for everyone.
 */
function isKeySetFailure(err: errors.JOSEError): boolean {
  return (
    err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err.code === 'ERR_JOSE_GENERIC'
  );
}

function toClaims(payload: JWTPayload, maxLifetimeSeconds: number): AccessClaims {
  const { sub, sid, jti, role, iat, exp, preferred_username: username } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') {
    throw unauthorized('The access token lacks required claims');
  }
  if (typeof exp !== 'number' || typeof iat !== 'number')
    throw unauthorized('The access token lacks required claims');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw unauthorized('The access token has an invalid role');
  }
  if (exp - iat > maxLifetimeSeconds) throw unauthorized('The access token lives longer than allowed');
  const claims: AccessClaims = { sub, sid, jti, role: role as Role, iat, exp };
  if (typeof username === 'string') claims.username = username;
  return claims;
}

/**
 * JWT access-token verification (DESIGN.md section 4): algorithm allow-list, `typ: at+jwt`, issuer,
 * audience, required `exp/jti/sid`, bounded clock skew, `exp - iat` at most `maxLifetimeSeconds` and
 * `iat` not in the future, `kid` resolved only against the configured key set, 8 KiB cap.
 *
 * A bounded cache of already verified tokens removes the signature cost from repeat requests. It is
 * keyed by the exact token text, whose protected header names the `kid`, re-checked for expiry on
 * every hit, and holds only verifications made under the key-set version in force: when the set
 * changes (a key retired or removed, a refetch that returns another set) the cache is flushed, and
 * while a remote set is stale nothing cached counts. Revocation is never cached — the caller checks
 * it per request.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const capacity = options.cacheSize ?? 10_000;
  const cache = new Map<string, AccessClaims>();
  const toleranceMs = options.clockToleranceSeconds * 1000;
  let cachedUnder: number | undefined;

  /** The key-set version in force, after flushing the cache if it holds another version's entries. */
  function currentVersion(): number | undefined {
    const version = options.keys.version();
    if (version !== undefined && version !== cachedUnder) {
      cache.clear();
      cachedUnder = version;
    }
    return version;
  }

  function cached(token: string): AccessClaims | undefined {
    if (currentVersion() === undefined) return undefined;
    const claims = cache.get(token);
    if (!claims) return undefined;
    if (claims.exp * 1000 + toleranceMs <= options.clock.now()) {
      cache.delete(token);
      return undefined;
    }
    return claims;
  }

  /** Caches `claims` only if the key set did not change while the token was being verified. */
  function remember(token: string, claims: AccessClaims, verifiedUnder: number | undefined): void {
    if (capacity <= 0 || verifiedUnder === undefined || currentVersion() !== verifiedUnder) return;
    if (cache.size >= capacity) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(token, claims);
  }

  /**
   * Verifications in progress, by token: a user's tabs and sockets connect at once with one token,
   * and all but the first wait for its answer instead of checking the signature again (the cache
   * fills only when a check ends). Joined only under the key-set version it started with.
   */
  const inflight = new Map<string, { version: number | undefined; claims: Promise<AccessClaims> }>();

  return {
    verifyCached: (token) => cached(token),
    async verify(token) {
      if (token.length === 0) throw unauthorized('Missing access token');
      if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw unauthorized('The access token is too large');
      const hit = cached(token);
      if (hit) return hit;
      // Taken before the key lookup: a token verified against a set that changed meanwhile (a reload
      // retiring its key mid-verification) must not be cached under the new version.
      const versionBefore = options.keys.version();
      const running = inflight.get(token);
      if (running && running.version === versionBefore) return running.claims;
      const claims = verifyAfresh(token, versionBefore);
      const entry = { version: versionBefore, claims };
      inflight.set(token, entry);
      try {
        return await claims;
      } finally {
        if (inflight.get(token) === entry) inflight.delete(token);
      }
    },
  };

  async function verifyAfresh(token: string, versionBefore: number | undefined): Promise<AccessClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.keys.getKey, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: options.algorithms,
        typ: 'at+jwt',
        clockTolerance: options.clockToleranceSeconds,
        // Also refuses an `iat` in the future (beyond the tolerance): with `exp - iat` bounded, a
        // far-future `iat` would otherwise carry a far-future `exp`.
        maxTokenAge: options.maxLifetimeSeconds,
        currentDate: new Date(options.clock.now()),
        requiredClaims: ['exp', 'iat', 'jti', 'sid', 'sub'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthorized('The access token has expired');
      if (err instanceof errors.JOSEError && !isKeySetFailure(err))
        throw unauthorized('The access token is invalid');
      // Anything else comes from fetching the key set: a dependency outage, not the client's fault.
      throw new AppError('SERVICE_UNAVAILABLE', 'Signing keys are unavailable', {
        data: { retryAfterSeconds: 1 },
        cause: err,
      });
    }
    const claims = toClaims(payload, options.maxLifetimeSeconds);
    remember(token, claims, versionBefore);
    return claims;
  }
}
