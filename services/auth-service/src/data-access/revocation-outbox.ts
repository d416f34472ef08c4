import {
  markOutboxPublished,
  revocationEntriesSchema,
  type OutboxHandler,
  type OutboxRelay,
} from '@concord/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { RevocationOutbox, RevocationPublisher } from '../domain/auth.ports';

/** Outbox topic of committed revocations (docs/decisions/009-outbox.md). */
export const REVOCATION_TOPIC = 'revocation';

const payloadSchema = z.object({ entries: revocationEntriesSchema.min(1), reason: z.string().optional() });

/**
 * Relay timing for revocations, from the lease: passes and the longest backoff a quarter lease each,
 * so a row is delivered within about half a lease of Redis taking writes again (DESIGN.md allows one);
 * the committing request gets a quarter lease to publish its row itself before a relay claims it.
 */
export function revocationRelayTiming(leaseMs: number) {
  return {
    pollIntervalMs: leaseMs / 4,
    claimAfterMs: leaseMs / 4,
    retry: { baseMs: Math.min(100, leaseMs / 8), maxMs: leaseMs / 4 },
    deliveryTimeoutMs: leaseMs / 2,
  };
}

/** The relay callback of {@link REVOCATION_TOPIC}: snapshot write + publish, no ack wait. */
export function revocationOutboxHandler(publisher: RevocationPublisher): OutboxHandler {
  return async (delivery) => {
    const { entries } = payloadSchema.parse(delivery.payload);
    await publisher.deliver(entries);
  };
}

/** {@link RevocationOutbox} over the outbox table and this process's relay. */
export function createRevocationOutbox(pool: Pool, relay: Pick<OutboxRelay, 'kick'>): RevocationOutbox {
  return {
    async markDelivered(ids) {
      await markOutboxPublished(pool, ids);
    },
    deliverLater: () => relay.kick(),
  };
}
