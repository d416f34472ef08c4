import type { Redis } from 'ioredis';
import type { OutboxHandler } from './outbox-relay';

/** The Concord events channel, `{REDIS_PREFIX}events` (DESIGN.md section 6). */
export function concordEventsChannel(prefix: string): string {
  return `${prefix}events`;
}

/**
 * An {@link OutboxHandler} that publishes each row's payload, serialised as JSON, on `channel`
 * (e.g. {@link concordEventsChannel}): the writer stores the complete event as the payload, the relay
 * sends it unchanged after the commit. Subscribers must tolerate duplicates (DESIGN.md section 5:
 * consumers drop revisions at or below the last they applied).
 */
export function publishPayloadOn(redis: Pick<Redis, 'publish'>, channel: string): OutboxHandler {
  return async (delivery) => {
    await redis.publish(channel, JSON.stringify(delivery.payload));
  };
}
