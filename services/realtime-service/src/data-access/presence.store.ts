import type { Logger, RedisClients } from '@concord/common';
import { z } from 'zod';
import type { OnlineUser, PresenceStore, PresenceTransition } from '../domain/presence.ports';
import { luaScript } from './lua-script';
import { CONNECT, DISCONNECT, HEARTBEAT, REAP, REASSERT } from './presence.scripts';

/** Presence key and channel names under `REDIS_PREFIX`; one hash tag for every key. */
export function presenceKeys(prefix: string, nodeId: string) {
  const base = `${prefix}{presence}:`;
  return {
    users: `${base}users`,
    nodes: `${base}nodes`,
    nodePrefix: `${base}node:`,
    node: `${base}node:${nodeId}`,
    /** Pub/sub channel of transitions (not a key: no slot). */
    channel: `${prefix}presence:transitions`,
  };
}

/** Options of {@link createRedisPresenceStore}. */
export interface RedisPresenceStoreOptions {
  clients: RedisClients;
  prefix: string;
  nodeId: string;
  /** A node whose registration is older than this is dead; survivors reap it. */
  nodeTtlMs: number;
  logger: Logger;
}

const transitionMessage = z.object({ type: z.enum(['join', 'leave']), user_id: z.string().min(1).max(128) });

/** {@link PresenceStore} over the node's command connection and shared subscriber. */
export function createRedisPresenceStore(options: RedisPresenceStoreOptions): PresenceStore {
  const { clients, nodeId, nodeTtlMs, logger } = options;
  const keys = presenceKeys(options.prefix, nodeId);
  const redis = clients.commands;
  const scripts = {
    connect: luaScript(redis, CONNECT),
    disconnect: luaScript(redis, DISCONNECT),
    heartbeat: luaScript(redis, HEARTBEAT),
    reassert: luaScript(redis, REASSERT),
    reap: luaScript(redis, REAP),
  };
  const nodeKeys = [keys.users, keys.nodes, keys.node];

  return {
    async connect({ socketId, userId, maxSockets }) {
      const result = Number(
        await scripts.connect(nodeKeys, [nodeId, socketId, userId, maxSockets, keys.channel]),
      );
      if (result === -1) return { status: 'full' };
      if (result === -2) return { status: 'unregistered' };
      return { status: 'connected', connections: result };
    },
    async disconnect(socketId) {
      await scripts.disconnect(nodeKeys, [socketId, keys.channel]);
    },
    async heartbeat() {
      return Number(await scripts.heartbeat(nodeKeys, [nodeId, nodeTtlMs])) === 1;
    },
    async reassert({ sockets, pending }) {
      const payload = JSON.stringify({ sockets: Object.fromEntries(sockets), pending });
      await scripts.reassert(nodeKeys, [nodeId, nodeTtlMs, keys.channel, payload]);
    },
    async reap() {
      return Number(await scripts.reap([keys.users, keys.nodes], [keys.nodePrefix, keys.channel, '']));
    },
    async deregister() {
      await scripts.reap([keys.users, keys.nodes], [keys.nodePrefix, keys.channel, nodeId]);
    },
    async list() {
      const all = await redis.hgetall(keys.users);
      const users: OnlineUser[] = [];
      for (const [user_id, count] of Object.entries(all)) {
        const connections = Number(count);
        if (connections > 0) users.push({ user_id, connections });
      }
      return users;
    },
    countUsers: () => redis.hlen(keys.users),
    async onTransition(handler) {
      await clients.onChannel(keys.channel, (text) => {
        let parsed: PresenceTransition;
        try {
          parsed = transitionMessage.parse(JSON.parse(text));
        } catch {
          logger.warn({ length: text.length }, 'ignored malformed presence transition');
          return;
        }
        handler(parsed);
      });
    },
  };
}
