import { randomUUID } from 'node:crypto';
import { AppError, type Clock } from '@concord/common';
import type { SessionPolicy } from './auth.model';
import type {
  LoginThrottle,
  NewSession,
  OpenResult,
  PasswordHasher,
  SessionRepository,
  UserRepository,
} from './auth.ports';
import type { CredentialCheck, VerifiedPassword } from './credential-check';
import { hashRefreshToken, newRefreshToken } from './refresh-token';
import type { createGranter, TokenGrant } from './token-grant';

/** Who is asking, as far as the session table cares. */
export interface ClientContext {
  ip: string;
  userAgent: string | undefined;
}

/** Dependencies of {@link createLoginUseCase}. */
export interface LoginDeps {
  users: UserRepository;
  sessions: SessionRepository;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  verifyPassword: CredentialCheck;
  granter: ReturnType<typeof createGranter>;
  policy: SessionPolicy;
  clock: Clock;
}

const USER_AGENT_MAX = 512;

function invalidCredentials(): AppError {
  return new AppError('INVALID_CREDENTIALS', 'Invalid username or password');
}

/**
 * `POST /auth/login`: throttle reservation, password check, then the session insert that only
 * succeeds while the verified credentials are still current (decision 008).
 */
export function createLoginUseCase(deps: LoginDeps) {
  const { users, sessions, hasher, policy } = deps;

  /**
   * Opens the session under the verified hash and stamp. When only the hash moved under an
   * unchanged stamp, a concurrent login rehashed this same password (every credential change also
   * changes the stamp): the password is checked once against the current hash instead of failing a
   * right password.
   */
  async function open(
    session: NewSession,
    verified: VerifiedPassword,
    password: string,
  ): Promise<OpenResult> {
    const expected = { passwordHash: verified.user.passwordHash, securityStamp: verified.user.securityStamp };
    const result = await sessions.openVerified(session, expected);
    const current = result.kind === 'stale' ? result.current : undefined;
    if (!current || current.securityStamp !== expected.securityStamp) return result;
    if (!(await hasher.verify(current.passwordHash, password)).ok) return result;
    return sessions.openVerified(session, current);
  }

  return async function login(
    username: string,
    password: string,
    client: ClientContext,
  ): Promise<TokenGrant> {
    const verified = await deps.verifyPassword({
      by: { username },
      password,
      ip: client.ip,
      throttledDetail: 'Too many failed logins; retry later',
    });
    if (!verified) throw invalidCredentials();

    const at = new Date(deps.clock.now());
    const lifetimeSeconds = deps.granter.lifetime();
    const refreshToken = newRefreshToken();
    const expiresAt = new Date(at.getTime() + policy.absoluteLifetimeSeconds * 1000);
    const opened = await open(
      {
        id: randomUUID(),
        userId: verified.user.id,
        ipAddress: client.ip,
        userAgent: client.userAgent ? client.userAgent.slice(0, USER_AGENT_MAX) : null,
        now: at,
        expiresAt,
        accessExpiresAt: deps.granter.accessExpiry(at, lifetimeSeconds, { expiresAt }),
        refreshTokenHash: hashRefreshToken(refreshToken),
        addressBucket: verified.address,
      },
      verified,
      password,
    );
    // The credentials changed while this login was in flight: it must not outlive the change. Its
    // reservation stays counted, like any failure.
    if (opened.kind !== 'opened') throw invalidCredentials();
    await deps.throttle.release(verified.reservation);
    if (verified.needsRehash) {
      // Compare-and-set on the hash this login verified: never writes this password back over a
      // change that committed meanwhile.
      await users.rehash(verified.user.id, verified.user.passwordHash, await hasher.hash(password));
    }
    return deps.granter.grant({
      session: opened.session,
      role: opened.role,
      refreshToken,
      at,
      lifetimeSeconds,
    });
  };
}
