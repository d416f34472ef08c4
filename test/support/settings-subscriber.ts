import {
  apiSettings,
  benchSettings,
  createLogger,
  createRedisClients,
  createSettingsFollower,
  createStoredSettingsSource,
  redisEventsSubscription,
  type SettingsChangedData,
} from '@concord/common';
import type { Pool } from 'pg';

/** A consumer of `settings.changed` as every service runs one, recording what it applied. */
export interface SettingsSubscriber {
  /** Every change once, after dedupe (from the channel or a re-read). */
  events: SettingsChangedData[];
  close(): Promise<void>;
}

/** Starts the shared settings follower (namespaces `api` and `bench`) on `prefix`'s events channel. */
export async function startSettingsSubscriber(options: {
  pool: Pool;
  redisUrl: string;
  prefix: string;
}): Promise<SettingsSubscriber> {
  const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'subscriber' });
  const clients = await createRedisClients(options.redisUrl, logger, 'test-subscriber');
  const events: SettingsChangedData[] = [];
  const follower = createSettingsFollower({
    namespaces: [apiSettings({ maxAccessTtlSeconds: 3600 }), benchSettings()],
    source: createStoredSettingsSource(options.pool),
    subscription: redisEventsSubscription(clients, options.prefix, logger),
    logger,
  });
  follower.onEvent((event) => events.push(event));
  try {
    await follower.start();
  } catch (err) {
    await clients.close();
    throw err;
  }
  return {
    events,
    async close() {
      follower.stop();
      await clients.close();
    },
  };
}
