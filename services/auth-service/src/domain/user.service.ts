import { AppError, type Clock, type Role } from '@concord/common';
import type { Cursor, Page, SessionPolicy, UserRecord } from './auth.model';
import type { CredentialRepository, PasswordHasher, UserRepository } from './auth.ports';
import { checkPasswordStrength } from './password-policy';
import type { SessionRevoker } from './session-revoker';

/** User administration (ceo; listing also manager). */
export function createUserService(deps: {
  users: UserRepository;
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  revoker: SessionRevoker;
  policy: SessionPolicy;
  minPasswordLength: () => number;
  clock: Clock;
}) {
  const { users, credentials, revoker } = deps;
  const now = () => new Date(deps.clock.now());

  return {
    async create(username: string, password: string, role: Role): Promise<UserRecord> {
      checkPasswordStrength(password, deps.minPasswordLength(), 'password');
      return users.create(username, await deps.hasher.hash(password), role);
    },

    list(limit: number, after: Cursor | undefined): Promise<Page<UserRecord>> {
      return users.list(limit, after);
    },

    /**
     * Changes a role, the user's stamp and revokes their sessions in one transaction, so no token
     * carries the old role, not even one of a login in flight (decision 008).
     */
    async changeRole(userId: string, role: Role): Promise<UserRecord> {
      const result = await credentials.changeRole({
        userId,
        role,
        now: now(),
        idleTimeoutSeconds: deps.policy.idleTimeoutSeconds,
      });
      if (!result) throw new AppError('RESOURCE_NOT_FOUND', 'No such user');
      await revoker.propagate(result.commit);
      return result.user;
    },

    async revokeSessions(userId: string): Promise<number> {
      const commit = await credentials.revokeAll({
        userId,
        reason: 'revoked_by_admin',
        now: now(),
        idleTimeoutSeconds: deps.policy.idleTimeoutSeconds,
      });
      if (!commit) throw new AppError('RESOURCE_NOT_FOUND', 'No such user');
      return revoker.propagate(commit);
    },
  };
}

/** The user service's API. */
export type UserService = ReturnType<typeof createUserService>;
