import type { Logger } from '../logging/logger';
import type { RedisClients } from './redis-clients';

/** The connection state of one channel's subscription. */
export type SubscriptionState = 'down' | 'up';

/**
 * Reports `down` when the subscriber connection drops and `up` once `channel` is subscribed again.
 * ioredis re-sends SUBSCRIBE on reconnect without waiting for the reply; subscribing again and
 * awaiting it guarantees the channel is live before `up`, so a caller that re-reads its state on
 * `up` misses nothing published after the re-read began (subscribe-then-load).
 */
export function watchChannelSubscription(options: {
  clients: Pick<RedisClients, 'subscriber'>;
  channel: string;
  logger: Logger;
  onChange: (state: SubscriptionState) => void;
}): void {
  const { clients, channel, logger, onChange } = options;
  clients.subscriber.on('close', () => onChange('down'));
  clients.subscriber.on('ready', () => {
    clients.subscriber.subscribe(channel).then(
      () => onChange('up'),
      (err: unknown) => logger.error({ err, channel }, 'channel resubscribe failed'),
    );
  });
}
