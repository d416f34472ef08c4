import { AppError, type Clock, type Logger } from '@concord/common';
import type { RevocationReason } from './auth.model';
import type {
  RevocationCommit,
  RevocationOutbox,
  RevocationPublisher,
  SessionRepository,
} from './auth.ports';

/** The one path every revocation takes: commit in Postgres (with its outbox row), then publish. */
export interface SessionRevoker {
  /**
   * Commits the revocation of `ids` and propagates it; returns how many sessions this call revoked.
   * Throws 503 with `committed: true` when propagation fails (the outbox relay delivers it later).
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
  outbox: RevocationOutbox;
  clock: Clock;
  logger: Logger;
}): SessionRevoker {
  const { publisher, outbox, logger } = deps;

  async function propagate(commit: RevocationCommit): Promise<number> {
    if (commit.entries.length === 0) return commit.newlyRevoked;
    const sessions = commit.entries.map((e) => e.sid);
    let sent;
    try {
      sent = await publisher.send(commit.entries);
    } catch (err) {
      outbox.deliverLater();
      logger.warn(
        { event: 'revocation.deferred', sessions, reason: commit.reason, outbox_ids: commit.outboxIds, err },
        'revocation committed but not published; the outbox relay delivers it once Redis takes writes',
      );
      // Committed already: a retry changes nothing, and libs/client never retries a committed 503.
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'The revocation is committed and reaches every replica once Redis accepts writes again; do not retry',
        { data: { retryAfterSeconds: 1, committed: true }, cause: err },
      );
    }
    // Marked while the replicas acknowledge, not before: the answer waits for the slower of the
    // two instead of their sum (a Postgres round trip off every revoke's latency).
    const marked = outbox.markDelivered(commit.outboxIds).catch((err: unknown) => {
      // Harmless: the relay delivers the row a second time, and applying a revocation is idempotent.
      logger.warn({ err, outbox_ids: commit.outboxIds }, 'could not mark the revocation delivered');
    });
    const [outcome] = await Promise.all([sent.acknowledged, marked]);
    logger.info(
      {
        event: 'sessions.revoked',
        sessions,
        reason: commit.reason,
        newly_revoked: commit.newlyRevoked,
        answered_by: outcome.by,
        young_registry: outcome.youngRegistry,
        waited_ms: Math.round(outcome.waitedMs),
      },
      'sessions revoked',
    );
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
