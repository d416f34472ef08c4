import { Cluster, Redis } from 'ioredis';
import {
  clusterNodeAuth,
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
