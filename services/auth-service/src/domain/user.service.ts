import { AppError, type Clock, type Role } from '@concord/common';
import type { Cursor, Page, SessionPolicy, UserRecord } from './auth.model';
import type { PasswordHasher, SessionRepository, UserRepository } from './auth.ports';
import type { SessionRevoker } from './session-revoker';

/** User administration (ceo; listing also manager). */
export function createUserService(deps: {
  users: UserRepository;
  sessions: SessionRepository;
  hasher: PasswordHasher;
  revoker: SessionRevoker;
  policy: SessionPolicy;
  minPasswordLength: () => number;
  clock: Clock;
}) {
  const { users, sessions, revoker } = deps;
  const now = () => new Date(deps.clock.now());

  return {
    async create(username: string, password: string, role: Role): Promise<UserRecord> {
      const min = deps.minPasswordLength();
      if (password.length < min) {
        throw new AppError('VALIDATION_ERROR', 'The password is too short', {
          errors: [{ path: 'password', message: `must be at least ${min} characters` }],
        });
      }
      return users.create(username, await deps.hasher.hash(password), role);
    },

    list(limit: number, after: Cursor | undefined): Promise<Page<UserRecord>> {
      return users.list(limit, after);
    },

    /** Changes a role and revokes the user's sessions so no token carries the old role. */
    async changeRole(userId: string, role: Role): Promise<UserRecord> {
      const before = await users.findById(userId);
      if (!before) throw new AppError('RESOURCE_NOT_FOUND', 'No such user');
      if (before.role === role) return before;
      const after = await users.changeRole(userId, role);
      if (!after) throw new AppError('RESOURCE_NOT_FOUND', 'No such user');
      await revoker.revoke(
        await sessions.activeIdsOfUser(userId, now(), deps.policy.idleTimeoutSeconds),
        'role_change',
      );
      return after;
    },

    async revokeSessions(userId: string): Promise<number> {
      if (!(await users.findById(userId))) throw new AppError('RESOURCE_NOT_FOUND', 'No such user');
      const ids = await sessions.activeIdsOfUser(userId, now(), deps.policy.idleTimeoutSeconds);
      return revoker.revoke(ids, 'revoked_by_admin');
    },
  };
}

/** The user service's API. */
export type UserService = ReturnType<typeof createUserService>;
