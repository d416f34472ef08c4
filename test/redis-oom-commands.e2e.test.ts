import { startPrivateRedis, type PrivateRedis } from './support/private-redis';

// What Redis does while out of memory (maxmemory 1, noeviction): the revocation design relies on
// it (docs/decisions/001-revocation-lease.md, "When Redis refuses writes"), so a Redis upgrade that
// changes it must fail here first.
let redis: PrivateRedis;

beforeAll(async () => {
  redis = await startPrivateRedis();
  await redis.command('SET', 'existing', 'v');
  await redis.command('ZADD', 'zset', '1', 'member');
  await redis.command('SET', 'doomed', 'v');
  await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  await redis.command('CONFIG', 'SET', 'maxmemory', '1');
});
afterAll(async () => {
  await redis?.cleanup();
});

const OOM = /^OOM command not allowed/;

async function outcome(args: (string | number)[]): Promise<'refused' | 'ran'> {
  try {
    await redis.command(String(args[0]), ...args.slice(1));
    return 'ran';
  } catch (err) {
    if (OOM.test((err as Error).message)) return 'refused';
    throw err;
  }
}

describe('Redis 7 under maxmemory 1 + noeviction', () => {
  it.each([
    ['SET', ['SET', 'fresh', 'v']],
    ['SET NX on an existing key', ['SET', 'existing', 'v2', 'NX']],
    ['ZADD of a new member', ['ZADD', 'zset', '2', 'other']],
    ['ZADD updating a member', ['ZADD', 'zset', '5', 'member']],
    ['INCR', ['INCR', 'counter']],
    ['a script at its first write', ['EVAL', "return redis.call('ZADD', KEYS[1], 3, 'x')", 1, 'zset']],
    [
      'a script at its first write, after it published',
      ['EVAL', "redis.call('PUBLISH', 'ch', 'x'); return redis.call('ZADD', KEYS[1], 3, 'x')", 1, 'zset'],
    ],
    [
      'a #!lua script without flags, even one that only publishes',
      ['EVAL', "#!lua\nreturn redis.call('PUBLISH', 'ch', 'x')", 0],
    ],
  ])('refuses %s', async (_name, args) => {
    expect(await outcome(args)).toBe('refused');
  });

  it.each([
    ['GET', ['GET', 'existing']],
    ['ZRANGEBYSCORE', ['ZRANGEBYSCORE', 'zset', '-inf', '+inf']],
    ['PUBLISH', ['PUBLISH', 'channel', 'message']],
    ['ZREMRANGEBYSCORE', ['ZREMRANGEBYSCORE', 'zset', '-inf', '0']],
    [
      'a script that reads and publishes',
      ['EVAL', "redis.call('GET', KEYS[1]); return redis.call('PUBLISH', 'ch', 'x')", 1, 'existing'],
    ],
  ])('runs %s', async (_name, args) => {
    expect(await outcome(args)).toBe('ran');
  });

  it('lets a script that has already modified data write on: it is never left half done', async () => {
    const script = "redis.call('DEL', KEYS[1]); redis.call('SET', KEYS[2], 'x'); return 1";

    const result = await outcome(['EVAL', script, 2, 'doomed', 'written-after-a-delete']);

    expect(result).toBe('ran');
    expect(await redis.command('EXISTS', 'doomed', 'written-after-a-delete')).toBe(1);
  });
});
