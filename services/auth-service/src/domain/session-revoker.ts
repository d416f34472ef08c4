import type { Clock } from '@concord/common';
import type { RevocationReason } from './auth.model';
import type { RevocationCommit, RevocationPublisher, SessionRepository } from './auth.ports';

/** The one path every revocation takes: commit in Postgres, then publish to every replica. */
export interface SessionRevoker {
  /**
   * Commits the revocation of `ids` and propagates it; returns how many sessions this call revoked.
   * Throws 503 when propagation fails (the revocation is committed already).
   */
  revoke(ids: string[], reason: RevocationReason): Promise<number>;
  /**
   * Propagates a revocation committed elsewhere (inside a password, role or revoke-all transaction);
   * returns how many sessions it revoked. Call it after the commit, never before.
   */
  propagate(commit: RevocationCommit): Promise<number>;
}

/** Builds the {@link SessionRevoker}. */
export function createSessionRevoker(deps: {
  sessions: SessionRepository;
  publisher: RevocationPublisher;
  clock: Clock;
}): SessionRevoker {
  async function propagate(commit: RevocationCommit): Promise<number> {
    // Entries include sessions revoked earlier whose tokens are still alive, so a retry after a
    // failed publish publishes again (DESIGN.md: "safe to retry").
    if (commit.entries.length > 0) await deps.publisher.publish(commit.entries);
    return commit.newlyRevoked;
  }
  return {
    async revoke(ids, reason) {
      if (ids.length === 0) return 0;
      return propagate(await deps.sessions.revoke(ids, reason, new Date(deps.clock.now())));
    },
    propagate,
  };
}
