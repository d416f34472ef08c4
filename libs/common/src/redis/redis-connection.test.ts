import net from 'node:net';
import { Cluster, Redis } from 'ioredis';
import {
  clusterNodeAuth,
  connectSubscriber,
  createRedisConnection,
  createSubscriberConnection,
  redisTarget,
} from './redis-connection';

describe('createRedisConnection', () => {
  it('when REDIS_CLUSTER_NODES is unset, is a single Redis on REDIS_URL', () => {
    const c = createRedisConnection(redisTarget({ REDIS_URL: 'redis://127.0.0.1:6390' }), {
      connectionName: 'x',
      maxRetriesPerRequest: 1,
    });

    expect(c).toBeInstanceOf(Redis);
    expect((c as Redis).options.port).toBe(6390);
    c.disconnect();
  });

  it('when REDIS_CLUSTER_NODES is set, is a Cluster on its seeds that reads from masters', () => {
    const target = redisTarget({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CLUSTER_NODES: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
    });

    const c = createRedisConnection(target, { connectionName: 'x', maxRetriesPerRequest: 1 }) as Cluster;

    expect(c).toBeInstanceOf(Cluster);
    expect(c.options.scaleReads).toBe('master');
    expect(c.options.enableReadyCheck).toBe(true);
    expect((c as unknown as { startupNodes: unknown[] }).startupNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    c.disconnect();
  });
});

describe('createSubscriberConnection on a cluster', () => {
  it('is one plain connection to one of the seeds', () => {
    const nodes = [
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ];

    const c = createSubscriberConnection({ url: 'redis://127.0.0.1:6379', clusterNodes: nodes }, 'x');

    expect(c).toBeInstanceOf(Redis);
    expect(nodes).toContainEqual({ host: c.options.host, port: c.options.port });
    c.disconnect();
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('connectSubscriber on a cluster', () => {
  // The machine's Redis stands in for the one live seed: the subscriber is a plain connection.
  const live = { host: '127.0.0.1', port: 6379 };

  it('connects through whichever seed answers when the first ones it tries are dead nodes', async () => {
    const nodes = [
      { host: '127.0.0.1', port: await deadPort() },
      { host: '127.0.0.1', port: await deadPort() },
      live,
    ];
    // The first seed is picked at random: enough subscribers that every start is likely tried.
    for (let i = 0; i < 8; i++) {
      const c = createSubscriberConnection({ url: 'redis://unused', clusterNodes: nodes }, `dead-seeds-${i}`);
      try {
        await connectSubscriber(c, { url: 'redis://unused', clusterNodes: nodes });
        expect(c.status).toBe('ready');
        expect({ host: c.options.host, port: c.options.port }).toEqual(live);
      } finally {
        c.disconnect();
      }
    }
  });

  it('fails, after a connect timeout per seed, when no seed answers', async () => {
    const nodes = [
      { host: '127.0.0.1', port: await deadPort() },
      { host: '127.0.0.1', port: await deadPort() },
    ];
    const c = createSubscriberConnection({ url: 'redis://unused', clusterNodes: nodes }, 'no-seed');
    const started = Date.now();
    try {
      await expect(connectSubscriber(c, { url: 'redis://unused', clusterNodes: nodes })).rejects.toThrow(
        /no cluster seed accepted the subscriber/,
      );
      // Its own bound is 2 × 2 s; generous here, for a loaded CI process (a run once took 13.5 s).
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      c.disconnect();
    }
  }, 90_000);
});

describe('clusterNodeAuth', () => {
  it('takes the user, password and TLS of REDIS_URL for every node', () => {
    expect(clusterNodeAuth('rediss://concord:p%40ss@ignored:6379')).toEqual({
      username: 'concord',
      password: 'p@ss',
      tls: {},
    });
  });

  it('adds nothing for a plain URL', () => {
    expect(clusterNodeAuth('redis://127.0.0.1:6379')).toEqual({});
  });
});
