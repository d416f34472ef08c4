import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors/app-error';
import type { RevocationCache } from './revocation-cache';
import type { AccessClaims, TokenVerifier } from './token-verifier';

/** Who is calling, attached to authenticated requests and sockets. */
export interface AuthContext extends AccessClaims {
  token: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    auth?: AuthContext;
  }
}

/** Verifies a token and checks its session against the revocation cache. */
export interface Authenticator {
  authenticate(token: string | undefined): Promise<AuthContext>;
  /** Express middleware: `Authorization: Bearer <token>` required. */
  requireAuth(req: Request, res: Response, next: NextFunction): void;
}

/** Extracts the bearer token of an `Authorization` header (scheme case-insensitive, RFC 6750). */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  return match?.[1];
}

/** Builds the authenticator every service uses, for HTTP and for Socket.IO handshakes. */
export function createAuthenticator(verifier: TokenVerifier, revocations: RevocationCache): Authenticator {
  // The problem middleware adds the RFC 6750 challenge (`WWW-Authenticate: Bearer`).
  function missing(): AppError {
    return new AppError('UNAUTHORIZED', 'A bearer access token is required');
  }
  async function authenticate(token: string | undefined): Promise<AuthContext> {
    if (!token) throw missing();
    const claims = await verifier.verify(token);
    revocations.assertNotRevoked(claims.sid);
    return { ...claims, token };
  }
  // The context of a token the verifier has cached, built once: the cache hands out the same claims
  // object for every request with that token, so the hot path allocates nothing here.
  const contexts = new WeakMap<AccessClaims, AuthContext>();
  return {
    authenticate,
    requireAuth(req, _res, next) {
      const token = bearerToken(req.headers.authorization);
      // Fast path, no promise: a token this process already verified (the revocation check still
      // runs on every request).
      const cached = token ? verifier.verifyCached(token) : undefined;
      if (cached && token) {
        try {
          revocations.assertNotRevoked(cached.sid);
        } catch (err) {
          next(err);
          return;
        }
        let context = contexts.get(cached);
        if (!context) {
          context = Object.freeze({ ...cached, token });
          contexts.set(cached, context);
        }
        req.auth = context;
        next();
        return;
      }
      authenticate(token).then(
        (auth) => {
          req.auth = auth;
          next();
        },
        (err: unknown) => next(err),
      );
    },
  };
}

/** Route guard: only the listed roles pass (403 code 1001 otherwise). */
export function requireRole(...roles: AccessClaims['role'][]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!req.auth) {
      next(new AppError('UNAUTHORIZED'));
      return;
    }
    next(roles.includes(req.auth.role) ? undefined : new AppError('FORBIDDEN', 'Your role may not do this'));
  };
}
