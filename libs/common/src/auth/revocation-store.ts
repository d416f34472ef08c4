import { z } from 'zod';
import type { Logger } from '../logging/logger';
import { watchChannelSubscription } from '../redis/channel-subscription';
import type { RedisClients } from '../redis/redis-clients';
import {
  parseRevocationMessage,
  type RevocationAck,
  type RevocationEntry,
  type RevocationKeys,
  type RevocationMessage,
} from './revocation-protocol';

/** The snapshot as of one instant: the epoch it belongs to and its entries. */
export interface RevocationSnapshot {
  epoch: string;
  entries: RevocationEntry[];
}

/** The narrow Redis surface the revocation cache needs (faked in unit tests). */
export interface RevocationStore {
  /** Subscribes to the revocation channel; resolves once the subscription is confirmed. */
  subscribe(handler: (message: RevocationMessage) => void): Promise<void>;
  /** Called when the subscriber connection drops and when it is ready (re-subscribed) again. */
  onConnectionChange(handler: (state: 'down' | 'up') => void): void;
  /**
   * The epoch and the entries whose `exp` is at least `minExp` (unix seconds), read in one atomic
   * step; null while there is no epoch (Redis lost its data and auth-service has not re-seeded yet).
   */
  readSnapshot(minExp: number): Promise<RevocationSnapshot | null>;
  /** Writes this replica's registration and, when absent, the registry's birth marker, atomically. */
  register(replicaId: string, expiresAtMs: number): Promise<void>;
  publishAck(ack: RevocationAck): Promise<void>;
}

// Atomic, so a FLUSHALL (or failover) between reading the epoch and reading the entries cannot
// yield an empty snapshot labelled with the old epoch. Read-only: Redis runs it while out of memory.
const READ_SNAPSHOT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then return false end
return {epoch, redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf', 'WITHSCORES')}`;

// The birth marker takes Redis's own clock, as does the revoker that compares against it, so the
// registry's age needs no cross-host clock bound. No shebang: Redis 7 refuses a flagged script
// without allow-oom as a whole while out of memory; this one fails at its ZADD, which is the point.
const REGISTER = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)), 'NX')
end
return 1`;

const snapshotReply = z.union([z.null(), z.tuple([z.string(), z.array(z.string())])]);

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
      watchChannelSubscription({ clients, channel: keys.channel, logger, onChange: h });
    },
    async readSnapshot(minExp) {
      const reply = snapshotReply.parse(
        await clients.commands.eval(READ_SNAPSHOT, 2, keys.epoch, keys.snapshot, minExp),
      );
      if (reply === null) return null;
      const [epoch, flat] = reply;
      const entries: RevocationEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ sid: flat[i]!, exp: Number(flat[i + 1]) });
      return { epoch, entries };
    },
    async register(replicaId, expiresAtMs) {
      await clients.commands.eval(REGISTER, 2, keys.replicas, keys.registryBorn, expiresAtMs, replicaId);
    },
    async publishAck(ack) {
      await clients.commands.publish(keys.ackChannel, JSON.stringify(ack));
    },
  };
}
