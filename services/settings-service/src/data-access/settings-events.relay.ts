import { createOutboxRelay, settingsChangedHandlers, type Logger, type OutboxRelay } from '@concord/common';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { SettingsStore } from '../domain/settings.ports';

/** Options of {@link createSettingsEventsRelay}. */
export interface SettingsEventsRelayOptions {
  pool: Pool;
  redis: Pick<Redis, 'publish'>;
  /** `REDIS_PREFIX`: events go to `{REDIS_PREFIX}events`. */
  prefix: string;
  logger: Logger;
  pollIntervalMs: number;
}

/**
 * The relay of `settings.changed` outbox rows (written by the CAS statement itself): any replica's
 * relay may claim a row, so one that dies between commit and publish loses nothing.
 */
export function createSettingsEventsRelay(options: SettingsEventsRelayOptions): OutboxRelay {
  return createOutboxRelay({
    pool: options.pool,
    handlers: settingsChangedHandlers(options.redis, options.prefix),
    logger: options.logger,
    pollIntervalMs: options.pollIntervalMs,
    retry: { baseMs: 250, maxMs: 10_000 },
    deliveryTimeoutMs: 2_000,
  });
}

/**
 * `store` whose committed changes kick `relay`, so this replica publishes its own events at once
 * instead of at the next poll (DESIGN.md: live settings apply within a second).
 */
export function kickingAfterCommit(
  store: SettingsStore,
  relay: Pick<OutboxRelay, 'kick'> | undefined,
): SettingsStore {
  if (!relay) return store;
  return {
    ...store,
    async change(change) {
      const outcome = await store.change(change);
      if (outcome.applied) relay.kick();
      return outcome;
    },
    async changeAll(changes, guard) {
      const outcome = await store.changeAll(changes, guard);
      if (outcome.applied) relay.kick();
      return outcome;
    },
  };
}
