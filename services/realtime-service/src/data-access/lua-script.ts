import { createHash } from 'node:crypto';
import type { RedisClient } from '@concord/common';

/** A Lua script run by SHA (EVALSHA), loaded on first use and again after a Redis restart (NOSCRIPT). */
export type LuaScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/** Wraps `source` for `redis`. */
export function luaScript(redis: RedisClient, source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
