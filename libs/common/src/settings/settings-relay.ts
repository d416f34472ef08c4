import type { Redis } from 'ioredis';
import { concordEventsChannel } from '../outbox/outbox-channel';
import type { OutboxHandler } from '../outbox/outbox-relay';
import { SETTINGS_CHANGED, settingsChangedEvent } from './settings-events';

/**
 * The outbox handlers of settings-service: `settings.changed` rows published on
 * `{REDIS_PREFIX}events` after their commit, by whichever replica's relay claims them (docs/
 * decisions/009-outbox.md). The stored payload is parsed with the shared envelope before it goes
 * out, so a row the writer got wrong fails here (and stays visible in `outbox.last_error`) instead
 * of being dropped by every consumer.
 */
export function settingsChangedHandlers(
  redis: Pick<Redis, 'publish'>,
  prefix: string,
): Record<typeof SETTINGS_CHANGED, OutboxHandler> {
  const channel = concordEventsChannel(prefix);
  return {
    async [SETTINGS_CHANGED](delivery) {
      const parsed = settingsChangedEvent.safeParse(delivery.payload);
      if (!parsed.success) {
        throw new Error(
          `outbox row ${delivery.id} is not a settings.changed event: ${parsed.error.issues[0]?.message}`,
        );
      }
      await redis.publish(channel, JSON.stringify(parsed.data));
    },
  };
}
