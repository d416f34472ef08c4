import { randomUUID } from 'node:crypto';
import { AppError, type AccessClaims, type Clock, type Role } from '@concord/common';
import type { SessionPolicy, SessionRecord, UserRecord } from './auth.model';
import type {
  AccessTokenIssuer,
  LoginThrottle,
  PasswordHasher,
  RateLimiter,
  SessionRepository,
  UserRepository,
} from './auth.ports';
import { deriveChildToken, hashRefreshToken, looksLikeRefreshToken, newRefreshToken } from './refresh-token';
import type { SessionRevoker } from './session-revoker';

/** Dependencies of {@link createAuthService}. */
export interface AuthServiceDeps {
  users: UserRepository;
  sessions: SessionRepository;
  hasher: PasswordHasher;
  issuer: AccessTokenIssuer;
  revoker: SessionRevoker;
  throttle: LoginThrottle;
  refreshLimiter: RateLimiter;
  policy: SessionPolicy;
  refreshSecret: string;
  minPasswordLength: () => number;
  clock: Clock;
  /** Signature and claims only (no revocation check): used by RFC 7009 revocation. */
  verifyAccessToken: (token: string) => Promise<AccessClaims>;
}

/** Who is asking, as far as the session table cares. */
export interface ClientContext {
  ip: string;
  userAgent: string | undefined;
}

/** Tokens handed out by login and refresh. */
export interface TokenGrant {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  session: SessionRecord;
}

const USER_AGENT_MAX = 512;

function rateLimited(retryAfter: number, detail: string): AppError {
  return new AppError('RATE_LIMITED', detail, {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfter))) },
  });
}

/** Setup, login, refresh, token revocation and password change. */
export function createAuthService(deps: AuthServiceDeps) {
  const { users, sessions, hasher, issuer, policy, clock } = deps;
  const now = () => new Date(clock.now());

  function checkPasswordStrength(password: string, path: string): void {
    const min = deps.minPasswordLength();
    if (password.length < min) {
      throw new AppError('VALIDATION_ERROR', 'The password is too short', {
        errors: [{ path, message: `must be at least ${min} characters` }],
      });
    }
  }

  async function grant(
    session: SessionRecord,
    role: Role,
    refreshToken: string,
    at: Date,
  ): Promise<TokenGrant> {
    const absoluteLeft = Math.floor((session.expiresAt.getTime() - at.getTime()) / 1000);
    // No access token outlives its session's absolute lifetime.
    const ttl = Math.max(1, Math.min(policy.accessTtlSeconds, absoluteLeft));
    const accessToken = await issuer.issue(
      { sub: session.userId, sid: session.id, role, username: session.username },
      at,
      ttl,
    );
    const idleLeft = policy.idleTimeoutSeconds;
    return {
      accessToken,
      expiresIn: ttl,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.min(idleLeft, absoluteLeft)),
      session,
    };
  }

  function accessExpiry(at: Date, session?: { expiresAt: Date }): Date {
    const exp = new Date(at.getTime() + policy.accessTtlSeconds * 1000);
    return session && session.expiresAt < exp ? session.expiresAt : exp;
  }

  return {
    /** Creates the first ceo while no user exists; 409 afterwards. */
    async setup(username: string, password: string): Promise<UserRecord> {
      checkPasswordStrength(password, 'password');
      const user = await users.createFirst(username, await hasher.hash(password));
      if (!user) throw new AppError('RESOURCE_CONFLICT', 'Setup is already complete');
      return user;
    },

    /** Verifies credentials (with throttling) and opens a session. */
    async login(username: string, password: string, client: ClientContext): Promise<TokenGrant> {
      const wait = await deps.throttle.retryAfter(username, client.ip);
      if (wait > 0) throw rateLimited(wait, 'Too many failed logins; retry later');
      const user = await users.findByUsername(username);
      let verdict = { ok: false, needsRehash: false };
      if (user) verdict = await hasher.verify(user.passwordHash, password);
      else await hasher.verifyDummy(password);
      if (!user || !verdict.ok) {
        await deps.throttle.recordFailure(username, client.ip);
        throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');
      }
      await deps.throttle.recordSuccess(username);
      if (verdict.needsRehash) await users.updatePasswordHash(user.id, await hasher.hash(password), false);

      const at = now();
      const refreshToken = newRefreshToken();
      const expiresAt = new Date(at.getTime() + policy.absoluteLifetimeSeconds * 1000);
      const session = await sessions.create({
        id: randomUUID(),
        userId: user.id,
        ipAddress: client.ip,
        userAgent: client.userAgent ? client.userAgent.slice(0, USER_AGENT_MAX) : null,
        now: at,
        expiresAt,
        accessExpiresAt: accessExpiry(at, { expiresAt }),
        refreshTokenHash: hashRefreshToken(refreshToken),
      });
      return grant(session, user.role, refreshToken, at);
    },

    /** Rotates a refresh token (grace window for duplicates, reuse revokes the session). */
    async refresh(refreshToken: string, client: ClientContext): Promise<TokenGrant> {
      const wait = await deps.refreshLimiter.hit(client.ip);
      if (wait > 0) throw rateLimited(wait, 'Too many refresh requests; retry later');
      if (!looksLikeRefreshToken(refreshToken)) throw new AppError('UNAUTHORIZED', 'Invalid refresh token');
      const at = now();
      const child = deriveChildToken(deps.refreshSecret, refreshToken);
      const result = await sessions.rotate({
        tokenHash: hashRefreshToken(refreshToken),
        childHash: hashRefreshToken(child),
        now: at,
        idleTimeoutSeconds: policy.idleTimeoutSeconds,
        graceSeconds: policy.refreshGraceSeconds,
        accessExpiresAt: new Date(at.getTime() + policy.accessTtlSeconds * 1000),
      });
      switch (result.kind) {
        case 'rotated':
        case 'grace':
          return grant(result.session, result.role, child, at);
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

    /** Changes the caller's password and revokes their other sessions. */
    async changePassword(caller: AccessClaims, current: string, next: string, ip: string): Promise<void> {
      const user = await users.findById(caller.sub);
      if (!user) throw new AppError('UNAUTHORIZED', 'Unknown user');
      const wait = await deps.throttle.retryAfter(user.username, ip);
      if (wait > 0) throw rateLimited(wait, 'Too many failed attempts; retry later');
      const verdict = await hasher.verify(user.passwordHash, current);
      if (!verdict.ok) {
        await deps.throttle.recordFailure(user.username, ip);
        throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
      }
      checkPasswordStrength(next, 'new_password');
      await users.updatePasswordHash(user.id, await hasher.hash(next), true);
      const others = await sessions.activeIdsOfUser(user.id, now(), policy.idleTimeoutSeconds, caller.sid);
      await deps.revoker.revoke(others, 'password_change');
    },

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
