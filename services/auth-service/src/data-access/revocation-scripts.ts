// Lua scripts of the revocation publisher. Every key a script touches shares the `{revocation}` hash
// tag (RevocationKeys), so each script is single-slot on Redis Cluster.
//
// None carries a `#!lua` shebang, deliberately. Measured on Redis 7.0 under `maxmemory 1` +
// `noeviction` (docs/operations.md): a flagged script without `allow-oom` is refused as a whole, and
// `no-writes` forbids PUBLISH; an unflagged script runs and fails at its first refusable write,
// after the commands before it took effect (unless it has already modified data: then Redis lets it
// finish). So reads and PUBLISH keep working while Redis is out of memory (heartbeats, acks,
// snapshot reads) and every write comes first in its script (a revoke is never published without
// its snapshot entry). `allow-oom` would let revocations write past maxmemory; it is not used: the
// outbox covers a refused write like any other failure (test/redis-oom-commands.e2e.test.ts).

/**
 * KEYS: snapshot, replicas, registry birth marker. ARGV: channel, message, lowest live registration
 * score (revoker's now − skew), "young" threshold (ms), then `exp, sid` pairs.
 * Writes the entries (ZADD GT: an exp never moves back), then reads the registry and its age on
 * Redis's own clock and publishes, all in one step: the replicas it returns are exactly those
 * registered when the message went out. Returns `{young (0|1), replicas}`.
 */
export const PUBLISH_REVOKE = `
for i = 5, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i], ARGV[i + 1])
end
local registered = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[3], '+inf')
local born = redis.call('GET', KEYS[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local young = 1
if born and now - tonumber(born) >= tonumber(ARGV[4]) then young = 0 end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return {young, registered}`;

/**
 * KEYS: epoch. ARGV: channel, sent_at. Publishes a heartbeat only while an epoch exists: after a
 * restart or flush, silence until the re-seed keeps every replica failing closed instead of trusting
 * an empty snapshot. Returns 0 when the epoch is missing (the caller re-seeds), 1 otherwise.
 */
export const HEARTBEAT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then return 0 end
redis.call('PUBLISH', ARGV[1], '{"type":"heartbeat","sent_at":' .. ARGV[2] .. ',"epoch":"' .. epoch .. '"}')
return 1`;

/**
 * KEYS: seed marker, epoch. ARGV: candidate epoch, channel, sent_at. Ends a seed: if the marker set
 * at its start is gone, Redis lost data meanwhile and the snapshot may miss entries (-1: seed again).
 * Otherwise creates the epoch if absent and announces it (1), or leaves the existing one (0).
 */
export const SEED_COMMIT = `
if redis.call('DEL', KEYS[1]) == 0 then return -1 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX') then
  redis.call('PUBLISH', ARGV[2], '{"type":"epoch","sent_at":' .. ARGV[3] .. ',"epoch":"' .. ARGV[1] .. '"}')
  return 1
end
return 0`;
