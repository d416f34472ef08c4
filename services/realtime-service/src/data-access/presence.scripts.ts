// Lua of the presence store (docs/decisions/011-presence.md). Every key is under one hash tag, so
// each script touches one Redis Cluster slot. Times come from Redis' own clock (TIME), so node
// expiry never depends on the hosts' clocks agreeing. Transitions are PUBLISHed by the script that
// makes them: exactly once, and in the order Redis applied them.
//
// KEYS[1] users: hash user id → sockets connected cluster-wide
// KEYS[2] nodes: sorted set node id → registration expiry (ms, Redis clock)
// KEYS[3] node:  hash socket id → user id, this node's entries (node scripts only)

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const ADD = `
local function add(users, node, socket, user, channel)
  redis.call('HSET', node, socket, user)
  if redis.call('HINCRBY', users, user, 1) == 1 then
    redis.call('PUBLISH', channel, cjson.encode({type = 'join', user_id = user}))
  end
end
local function remove(users, node, socket, user, channel)
  redis.call('HDEL', node, socket)
  if redis.call('HINCRBY', users, user, -1) <= 0 then
    redis.call('HDEL', users, user)
    redis.call('PUBLISH', channel, cjson.encode({type = 'leave', user_id = user}))
  end
end
`;

/** ARGV: node id, socket id, user id, max sockets, channel. Returns the count, -1 full, -2 unregistered. */
export const CONNECT = `${NOW}${ADD}
local exp = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not exp or tonumber(exp) < now then return -2 end
local count = tonumber(redis.call('HGET', KEYS[1], ARGV[3]) or '0')
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then return count end
if count >= tonumber(ARGV[4]) then return -1 end
add(KEYS[1], KEYS[3], ARGV[2], ARGV[3], ARGV[5])
return count + 1
`;

/** ARGV: socket id, channel. */
export const DISCONNECT = `${ADD}
local user = redis.call('HGET', KEYS[3], ARGV[1])
if user then remove(KEYS[1], KEYS[3], ARGV[1], user, ARGV[2]) end
return user and 1 or 0
`;

/** KEYS[2] only; ARGV: node id, ttl ms. Returns 0 when the registration was gone (then re-assert). */
export const HEARTBEAT = `${NOW}
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return 1
`;

/**
 * ARGV: node id, ttl ms, channel, JSON {sockets: {socket: user}, pending: [socket]}. Registers the
 * node and makes its entries equal to \`sockets\`, leaving pending ones alone.
 */
export const REASSERT = `${NOW}${ADD}
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
local wanted = cjson.decode(ARGV[4])
local want = {}
if type(wanted.sockets) == 'table' then for s, u in pairs(wanted.sockets) do want[s] = u end end
local keep = {}
if type(wanted.pending) == 'table' then for _, s in ipairs(wanted.pending) do keep[s] = true end end
local have = redis.call('HGETALL', KEYS[3])
for i = 1, #have, 2 do
  local s, u = have[i], have[i + 1]
  if want[s] == u then want[s] = nil
  elseif not keep[s] then remove(KEYS[1], KEYS[3], s, u, ARGV[3]) end
end
for s, u in pairs(want) do
  if not keep[s] then add(KEYS[1], KEYS[3], s, u, ARGV[3]) end
end
return 1
`;

/**
 * KEYS[1], KEYS[2]; ARGV: node key prefix, channel, only node (optional: deregister that one now).
 * Removes every expired node (or the given one) with its entries; the ZREM in the same script makes
 * one caller the only reaper of each node.
 */
export const REAP = `${NOW}${ADD}
local dead
if ARGV[3] and ARGV[3] ~= '' then dead = {ARGV[3]}
else dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now) end
local reaped = 0
for _, n in ipairs(dead) do
  redis.call('ZREM', KEYS[2], n)
  local key = ARGV[1] .. n
  local have = redis.call('HGETALL', key)
  for i = 1, #have, 2 do remove(KEYS[1], key, have[i], have[i + 1], ARGV[2]) end
  redis.call('DEL', key)
  reaped = reaped + 1
end
return reaped
`;
