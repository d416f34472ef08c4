import { AppError, type AccessClaims, type Clock } from '@concord/common';
import type { Cursor, Page, RevocationReason, SessionPolicy, SessionRecord } from './auth.model';
import type { CredentialRepository, SessionRepository } from './auth.ports';
import type { SessionRevoker } from './session-revoker';

/** Logout scopes of `POST /auth/logout`. */
export type LogoutScope = 'local' | 'others' | 'global';

/** Listing, logout and revocation of sessions. */
export function createSessionService(deps: {
  sessions: SessionRepository;
  credentials: CredentialRepository;
  revoker: SessionRevoker;
  policy: SessionPolicy;
  clock: Clock;
}) {
  const { sessions, revoker, policy } = deps;
  const now = () => new Date(deps.clock.now());

  /**
   * Every session of the caller but (for `others`) this one, with a new security stamp in the same
   * transaction, so a login in flight cannot slip past it (decision 008). The current session is
   * re-stamped and stays for `others`; for `all` it goes too, even if no longer listed as active.
   */
  async function revokeAllOf(caller: AccessClaims, scope: 'others' | 'all', reason: RevocationReason) {
    const commit = await deps.credentials.revokeAll({
      userId: caller.sub,
      ...(scope === 'others' ? { keepSessionId: caller.sid } : { alsoRevoke: [caller.sid] }),
      reason,
      now: now(),
      idleTimeoutSeconds: policy.idleTimeoutSeconds,
    });
    if (!commit) throw new AppError('UNAUTHORIZED', 'Unknown user');
    return revoker.propagate(commit);
  }

  return {
    async logout(caller: AccessClaims, scope: LogoutScope): Promise<void> {
      if (scope === 'local') await revoker.revoke([caller.sid], 'logout');
      else if (scope === 'others') await revokeAllOf(caller, 'others', 'logout_others');
      else await revokeAllOf(caller, 'all', 'logout_global');
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
      return revokeAllOf(caller, scope, scope === 'all' ? 'logout_global' : 'logout_others');
    },
  };
}

/** The session service's API. */
export type SessionService = ReturnType<typeof createSessionService>;
