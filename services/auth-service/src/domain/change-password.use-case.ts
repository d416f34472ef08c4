import { AppError, type AccessClaims, type Clock } from '@concord/common';
import type { SessionPolicy } from './auth.model';
import type { CredentialRepository, LoginThrottle, PasswordHasher } from './auth.ports';
import type { CredentialCheck } from './credential-check';
import { checkPasswordStrength } from './password-policy';
import type { SessionRevoker } from './session-revoker';

/** Dependencies of {@link createChangePasswordUseCase}. */
export interface ChangePasswordDeps {
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  verifyPassword: CredentialCheck;
  revoker: SessionRevoker;
  policy: SessionPolicy;
  minPasswordLength: () => number;
  clock: Clock;
}

/**
 * `POST /auth/password`: the current password is verified behind the same budgets as a login (it
 * is a password oracle too); the change, the new stamp and the end of every other session commit
 * together, the caller's session re-stamped so it stays (decision 008).
 */
export function createChangePasswordUseCase(deps: ChangePasswordDeps) {
  return async function changePassword(
    caller: AccessClaims,
    current: string,
    next: string,
    ip: string,
  ): Promise<void> {
    checkPasswordStrength(next, deps.minPasswordLength(), 'new_password');
    const verified = await deps.verifyPassword({
      by: { id: caller.sub },
      password: current,
      ip,
      throttledDetail: 'Too many failed attempts; retry later',
    });
    if (!verified) throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
    const commit = await deps.credentials.changePassword({
      userId: verified.user.id,
      expectedStamp: verified.user.securityStamp,
      newHash: await deps.hasher.hash(next),
      keepSessionId: caller.sid,
      now: new Date(deps.clock.now()),
      idleTimeoutSeconds: deps.policy.idleTimeoutSeconds,
    });
    // Another credential change committed after the verification: this one was made against
    // credentials that are no longer current.
    if (!commit) throw new AppError('INVALID_CREDENTIALS', 'The credentials changed meanwhile; retry');
    await deps.throttle.release(verified.reservation);
    await deps.revoker.propagate(commit);
  };
}
