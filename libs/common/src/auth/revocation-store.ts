import type { Logger } from '../logging/logger';
import type { RedisClients } from '../redis/redis-clients';
import {
  parseRevocationMessage,
  type RevocationAck,
  type RevocationEntry,
  type RevocationKeys,
  type RevocationMessage,
} from './revocation-protocol';

/** The narrow Redis surface the revocation cache needs (faked in unit tests). */
export interface RevocationStore {
  /** Subscribes to the revocation channel; resolves once the subscription is confirmed. */
  subscribe(handler: (message: RevocationMessage) => void): Promise<void>;
  /** Called when the subscriber connection drops and when it is ready again. */
  onConnectionChange(handler: (state: 'down' | 'up') => void): void;
  readEpoch(): Promise<string | null>;
  /** Snapshot entries whose `exp` is at least `minExp` (unix seconds). */
  readSnapshot(minExp: number): Promise<RevocationEntry[]>;
  register(replicaId: string, expiresAtMs: number): Promise<void>;
  publishAck(ack: RevocationAck): Promise<void>;
}

/** {@link RevocationStore} over ioredis. */
export function createRedisRevocationStore(
  clients: RedisClients,
  keys: RevocationKeys,
  logger: Logger,
): RevocationStore {
  let handler: ((message: RevocationMessage) => void) | undefined;
  return {
    async subscribe(h) {
      handler = h;
      await clients.onChannel(keys.channel, (text) => {
        const message = parseRevocationMessage(text);
        if (message) handler?.(message);
        else logger.warn({ length: text.length }, 'ignored malformed message on the revocation channel');
      });
    },
    onConnectionChange(h) {
      clients.subscriber.on('close', () => h('down'));
      // ioredis re-sends SUBSCRIBE on reconnect without waiting for the reply; subscribing again and
      // awaiting it guarantees the channel is live before the snapshot is re-read (subscribe-then-load).
      clients.subscriber.on('ready', () => {
        clients.subscriber.subscribe(keys.channel).then(
          () => h('up'),
          (err: unknown) => logger.error({ err }, 'revocation channel resubscribe failed'),
        );
      });
    },
    async readEpoch() {
      return clients.commands.get(keys.epoch);
    },
    async readSnapshot(minExp) {
      const flat = await clients.commands.zrangebyscore(keys.snapshot, minExp, '+inf', 'WITHSCORES');
      const entries: RevocationEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ sid: flat[i]!, exp: Number(flat[i + 1]) });
      return entries;
    },
    async register(replicaId, expiresAtMs) {
      await clients.commands.zadd(keys.replicas, expiresAtMs, replicaId);
    },
    async publishAck(ack) {
      await clients.commands.publish(keys.ackChannel, JSON.stringify(ack));
    },
  };
}
