import type { Logger, RedisClient } from '@concord/common';
import type { PresenceTracker } from '../domain/presence-tracker';

/**
 * Makes this node's presence whole again after Redis lost some of it:
 * - on `ready` (a reconnect, e.g. after a Redis restart) one heartbeat, which finds the
 *   registration gone and re-asserts every socket without waiting for the next interval;
 * - on `-node` (Redis Cluster: a node left the topology, e.g. a master failed over) a re-assert.
 *   Replication is asynchronous, so the promoted replica may lack the newest entries while the
 *   registration (written long before) survived, and the heartbeat alone would never notice.
 */
export function watchPresenceRecovery(
  redis: RedisClient,
  presence: Pick<PresenceTracker, 'heartbeat' | 'reassert'>,
  logger: Logger,
): void {
  const failed = (err: unknown) => logger.warn({ err }, 'presence re-assert failed');
  redis.on('ready', () => {
    presence.heartbeat().catch(failed);
  });
  redis.on('-node', () => {
    presence.reassert().catch(failed);
  });
}
