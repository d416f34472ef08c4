import type { Clock } from '@concord/common';
import type { RevocationReason } from './auth.model';
import type { RevocationPublisher, SessionRepository } from './auth.ports';

/** The one path every revocation takes: commit in Postgres, then publish to every replica. */
export interface SessionRevoker {
  /** Returns how many sessions this call revoked. Throws 503 when publishing fails (already committed). */
  revoke(ids: string[], reason: RevocationReason): Promise<number>;
}

/** Builds the {@link SessionRevoker}. */
export function createSessionRevoker(deps: {
  sessions: SessionRepository;
  publisher: RevocationPublisher;
  clock: Clock;
}): SessionRevoker {
  return {
    async revoke(ids, reason) {
      if (ids.length === 0) return 0;
      const { entries, newlyRevoked } = await deps.sessions.revoke(ids, reason, new Date(deps.clock.now()));
      // Entries include sessions revoked earlier whose tokens are still alive, so a retry after a
      // failed publish publishes again (DESIGN.md: "safe to retry").
      if (entries.length > 0) await deps.publisher.publish(entries);
      return newlyRevoked;
    },
  };
}
