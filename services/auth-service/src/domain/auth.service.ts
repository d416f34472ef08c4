import { AppError, type AccessClaims, type Clock, type Logger, type Role } from '@concord/common';
import { addressBucket } from './address-bucket';
import type { SessionPolicy, UserRecord } from './auth.model';
import type {
  AccessTokenIssuer,
  CredentialRepository,
  LoginThrottle,
  PasswordHasher,
  RateLimiter,
  SessionRepository,
  UserRepository,
} from './auth.ports';
import { createChangePasswordUseCase } from './change-password.use-case';
import { createCredentialCheck, rateLimited } from './credential-check';
import { createLoginUseCase } from './login.use-case';
import { checkPasswordStrength } from './password-policy';
import { deriveChildToken, hashRefreshToken, looksLikeRefreshToken } from './refresh-token';
import type { SessionRevoker } from './session-revoker';
import { createGranter, type TokenGrant } from './token-grant';

export type { ClientContext } from './login.use-case';
export type { TokenGrant } from './token-grant';

/** Dependencies of {@link createAuthService}. */
export interface AuthServiceDeps {
  users: UserRepository;
  sessions: SessionRepository;
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  issuer: AccessTokenIssuer;
  revoker: SessionRevoker;
  throttle: LoginThrottle;
  refreshLimiter: RateLimiter;
  policy: SessionPolicy;
  refreshSecret: string;
  minPasswordLength: () => number;
  clock: Clock;
  logger: Logger;
  /** Signature and claims only (no revocation check): used by RFC 7009 revocation. */
  verifyAccessToken: (token: string) => Promise<AccessClaims>;
}

/** Setup, login, refresh, token revocation and password change. */
export function createAuthService(deps: AuthServiceDeps) {
  const { users, sessions, hasher, policy, clock } = deps;
  const granter = createGranter(deps);
  const verifyPassword = createCredentialCheck(deps);

  return {
    /** Creates the first ceo while no user exists; 409 afterwards. */
    async setup(username: string, password: string): Promise<UserRecord> {
      checkPasswordStrength(password, deps.minPasswordLength(), 'password');
      const user = await users.createFirst(username, await hasher.hash(password));
      if (!user) throw new AppError('RESOURCE_CONFLICT', 'Setup is already complete');
      return user;
    },

    /** Verifies credentials (behind the failed-login budgets) and opens a session. */
    login: createLoginUseCase({ ...deps, verifyPassword, granter }),

    /** Rotates a refresh token (grace window for duplicates, reuse revokes the session). */
    async refresh(refreshToken: string, client: { ip: string }): Promise<TokenGrant> {
      const limit = await deps.refreshLimiter.consume(addressBucket(client.ip));
      if (!limit.allowed)
        throw rateLimited(limit.retryAfterSeconds, 'Too many refresh requests; retry later');
      if (!looksLikeRefreshToken(refreshToken)) throw new AppError('UNAUTHORIZED', 'Invalid refresh token');
      const at = new Date(clock.now());
      const lifetimeSeconds = granter.lifetime();
      const child = deriveChildToken(deps.refreshSecret, refreshToken);
      const result = await sessions.rotate({
        tokenHash: hashRefreshToken(refreshToken),
        childHash: hashRefreshToken(child),
        now: at,
        idleTimeoutSeconds: policy.idleTimeoutSeconds,
        graceSeconds: policy.refreshGraceSeconds,
        accessExpiresAt: granter.accessExpiry(at, lifetimeSeconds),
      });
      switch (result.kind) {
        case 'rotated':
        case 'grace':
          return granter.grant({
            session: result.session,
            role: result.role,
            refreshToken: child,
            at,
            lifetimeSeconds,
          });
        case 'unknown':
          throw new AppError('UNAUTHORIZED', 'Invalid refresh token');
        case 'inactive':
          throw result.revoked
            ? new AppError('SESSION_REVOKED', 'The session has been revoked')
            : new AppError('UNAUTHORIZED', 'The session has expired');
        case 'reuse':
          // A consumed token came back after the grace window: someone holds a stolen copy.
          await deps.revoker.revoke([result.sessionId], 'refresh_token_reuse');
          throw new AppError('SESSION_REVOKED', 'Refresh token reuse detected; the session has been revoked');
      }
    },

    /** RFC 7009: revokes the session of either token kind; unknown tokens are not an error. */
    async revokeToken(token: string, hint: 'access_token' | 'refresh_token' | undefined): Promise<void> {
      const asRefresh = async () =>
        looksLikeRefreshToken(token)
          ? sessions.findSessionIdByRefreshHash(hashRefreshToken(token))
          : undefined;
      const asAccess = async () => {
        try {
          return (await deps.verifyAccessToken(token)).sid;
        } catch (err) {
          // An invalid or expired access token has nothing left to revoke (RFC 7009 section 2.2).
          if (err instanceof AppError && err.status === 401) return undefined;
          throw err;
        }
      };
      const order = hint === 'access_token' ? [asAccess, asRefresh] : [asRefresh, asAccess];
      for (const attempt of order) {
        const sid = await attempt();
        if (sid) {
          await deps.revoker.revoke([sid], 'token_revocation');
          return;
        }
      }
    },

    /** Changes the caller's password and revokes their other sessions (this one stays). */
    changePassword: createChangePasswordUseCase({ ...deps, verifyPassword }),

    /**
     * The caller's identity, straight from the verified token: usernames never change and a role
     * change revokes every session, so the claims are current (no database round trip per call).
     * Tokens without `preferred_username` fall back to a lookup.
     */
    async me(caller: AccessClaims): Promise<{ id: string; username: string; role: Role }> {
      if (caller.username !== undefined)
        return { id: caller.sub, username: caller.username, role: caller.role };
      const user = await users.findById(caller.sub);
      if (!user) throw new AppError('UNAUTHORIZED', 'Unknown user');
      return { id: user.id, username: user.username, role: user.role };
    },
  };
}

/** The auth service's API. */
export type AuthService = ReturnType<typeof createAuthService>;
