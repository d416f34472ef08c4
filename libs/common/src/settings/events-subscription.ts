import type { Logger } from '../logging/logger';
import { concordEventsChannel } from '../outbox/outbox-channel';
import { watchChannelSubscription, type SubscriptionState } from '../redis/channel-subscription';
import type { RedisClients } from '../redis/redis-clients';

/** The narrow surface of the events channel a follower needs (faked in unit tests). */
export interface EventsSubscription {
  /** Subscribes to the channel; resolves once the subscription is confirmed. */
  subscribe(handler: (message: string) => void): Promise<void>;
  /** `down` when the subscriber connection drops, `up` once the channel is live again. */
  onConnectionChange(handler: (state: SubscriptionState) => void): void;
}

/**
 * {@link EventsSubscription} on `{REDIS_PREFIX}events` over the process's shared subscriber
 * connection. One handler per channel and process ({@link RedisClients.onChannel}), so a process runs
 * one settings follower.
 */
export function redisEventsSubscription(
  clients: RedisClients,
  prefix: string,
  logger: Logger,
): EventsSubscription {
  const channel = concordEventsChannel(prefix);
  return {
    subscribe: (handler) => clients.onChannel(channel, handler),
    onConnectionChange(handler) {
      watchChannelSubscription({ clients, channel, logger, onChange: handler });
    },
  };
}
