import { AppError, type AccessClaims, type Clock } from '@concord/common';
import type { Cursor, Page, SessionPolicy, SessionRecord } from './auth.model';
import type { SessionRepository } from './auth.ports';
import type { SessionRevoker } from './session-revoker';

/** Logout scopes of `POST /auth/logout`. */
export type LogoutScope = 'local' | 'others' | 'global';

/** Listing, logout and revocation of sessions. */
export function createSessionService(deps: {
  sessions: SessionRepository;
  revoker: SessionRevoker;
  policy: SessionPolicy;
  clock: Clock;
}) {
  const { sessions, revoker, policy } = deps;
  const now = () => new Date(deps.clock.now());

  async function othersOf(caller: AccessClaims, includeCurrent: boolean): Promise<string[]> {
    return sessions.activeIdsOfUser(
      caller.sub,
      now(),
      policy.idleTimeoutSeconds,
      includeCurrent ? undefined : caller.sid,
    );
  }

  return {
    async logout(caller: AccessClaims, scope: LogoutScope): Promise<void> {
      if (scope === 'local') {
        await revoker.revoke([caller.sid], 'logout');
      } else if (scope === 'others') {
        await revoker.revoke(await othersOf(caller, false), 'logout_others');
      } else {
        // The current session goes too, even if it is no longer listed as active.
        await revoker.revoke([...new Set([caller.sid, ...(await othersOf(caller, true))])], 'logout_global');
      }
    },

    async list(
      caller: AccessClaims,
      scope: 'own' | 'all',
      limit: number,
      after: Cursor | undefined,
    ): Promise<Page<SessionRecord>> {
      if (scope === 'all' && caller.role !== 'ceo') {
        throw new AppError('FORBIDDEN', 'Only a ceo may list every session');
      }
      const filter = scope === 'all' ? {} : { userId: caller.sub };
      return sessions.listActive(filter, now(), policy.idleTimeoutSeconds, limit, after);
    },

    /**
     * 404 when the session does not exist or is not the caller's (ceo: any). An already revoked or
     * expired one is revoked again (204): that is how a retry after a committed 503 ends, and the
     * entry is published once more.
     */
    async revokeOne(caller: AccessClaims, sessionId: string): Promise<void> {
      const session = await sessions.findById(sessionId);
      if (!session || (session.userId !== caller.sub && caller.role !== 'ceo')) {
        throw new AppError('RESOURCE_NOT_FOUND', 'No such session');
      }
      await revoker.revoke(
        [session.id],
        session.userId === caller.sub ? 'revoked_by_user' : 'revoked_by_admin',
      );
    },

    /** `DELETE /auth/sessions?scope=others|all` over the caller's own sessions. */
    async revokeOwn(caller: AccessClaims, scope: 'others' | 'all'): Promise<number> {
      const ids = await othersOf(caller, scope === 'all');
      return revoker.revoke(ids, scope === 'all' ? 'logout_global' : 'logout_others');
    },
  };
}

/** The session service's API. */
export type SessionService = ReturnType<typeof createSessionService>;
