import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisNode } from '../config/env-types';

/** A command connection: a single Redis or a Redis Cluster (both answer the commands Concord uses). */
export type RedisClient = Redis | Cluster;

/**
 * Where a process's Redis is (DESIGN.md section 9): `REDIS_CLUSTER_NODES` when set (it replaces
 * `REDIS_URL`), otherwise `REDIS_URL`.
 */
export interface RedisTarget {
  url: string;
  clusterNodes?: readonly RedisNode[];
}

/** The target a service config names. */
export function redisTarget(config: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly RedisNode[];
}): RedisTarget {
  return { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
}

/** A plain URL is a single Redis; everything else in Concord passes a {@link RedisTarget}. */
export function toRedisTarget(target: string | RedisTarget): RedisTarget {
  return typeof target === 'string' ? { url: target } : target;
}

/** True when the target is a Redis Cluster. */
export function isClusterTarget(target: RedisTarget): boolean {
  return (target.clusterNodes?.length ?? 0) > 0;
}

/**
 * What `REDIS_URL` says besides host and port, applied to every cluster node: the ACL user and
 * password, and TLS for `rediss:`. So a cluster with AUTH or TLS needs `REDIS_URL` too (e.g.
 * `rediss://:secret@cluster`), its host being ignored.
 */
export function clusterNodeAuth(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Options of {@link createRedisConnection}. */
export interface RedisConnectionOptions {
  connectionName: string;
  /** ioredis's per-command retry bound; `null` queues commands until the connection is back. */
  maxRetriesPerRequest: number | null;
  /** Cluster only: SSUBSCRIBE through one subscriber per shard (the sharded Socket.IO adapter). */
  shardedSubscribers?: boolean;
}

// Short connect timeout and a capped backoff: a command fails fast while Redis is away (a 503
// problem rather than a hung request) and the connection keeps coming back in the background.
const CONNECT_TIMEOUT_MS = 2_000;
const backoff = (attempt: number) => Math.min(50 * 2 ** attempt, 1_000);

/**
 * A lazily connected command connection (call `connect()`): `Redis` on `url`, or `Cluster` on the
 * seed nodes. Cluster options: the ready check waits for `cluster_state:ok`; reads go to masters
 * (`scaleReads: 'master'`: replicas lag, and the revocation snapshot must never be read stale); a
 * command that meets a failover (connection closed, CLUSTERDOWN, TRYAGAIN) is retried after a
 * slots refresh a bounded number of times (`maxRedirections` x the retry delays, about 2 s, in
 * the order of a failover) and then fails, which callers already turn into a 503 problem.
 * No natMap: the nodes announce the addresses the processes reach them at.
 */
export function createRedisConnection(
  target: string | RedisTarget,
  options: RedisConnectionOptions,
): RedisClient {
  const { url, clusterNodes } = toRedisTarget(target);
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    connectTimeout: CONNECT_TIMEOUT_MS,
    lazyConnect: true,
    retryStrategy: backoff,
  };
  if (!clusterNodes || clusterNodes.length === 0) return new Redis(url, redisOptions);
  const clusterOptions: ClusterOptions = {
    // ioredis never lets a node connection reconnect by itself (no retryStrategy there): a lost node
    // is replaced through a slots refresh, and its commands are retried by the Cluster.
    redisOptions: {
      connectionName: options.connectionName,
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...clusterNodeAuth(url),
    },
    lazyConnect: true,
    enableReadyCheck: true,
    scaleReads: 'master',
    clusterRetryStrategy: backoff,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    maxRedirections: 10,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    // Periodic refresh as well: a promotion is noticed even by a process that sent nothing.
    slotsRefreshInterval: 5_000,
    shardedSubscribers: options.shardedSubscribers ?? false,
  };
  return new Cluster(
    clusterNodes.map((n) => ({ host: n.host, port: n.port })),
    clusterOptions,
  );
}

/**
 * A connection for SUBSCRIBE (plain pub/sub, never sharded). On a single Redis it is a `Redis` on
 * `url`. On a cluster it is also one plain `Redis`, to one node: a PUBLISH on any cluster node is
 * broadcast over the cluster bus to every node, so one node's subscription hears the whole
 * cluster. On each reconnect it moves to the next seed node, so a killed node (a failed master)
 * is left behind. A plain connection rather than ioredis `Cluster`'s own subscriber because the
 * latter moves to another node silently: it emits neither `close` nor `ready`, and Concord
 * re-reads its state (the revocation snapshot, stored settings) on exactly those events, so a
 * message published during the move would be lost without a re-read.
 */
export function createSubscriberConnection(target: string | RedisTarget, connectionName: string): Redis {
  const { url, clusterNodes } = toRedisTarget(target);
  const base: RedisOptions = {
    connectionName,
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    lazyConnect: true,
    retryStrategy: backoff,
  };
  if (!clusterNodes || clusterNodes.length === 0) return new Redis(url, base);
  const nodes = clusterNodes;
  let next = Math.floor(Math.random() * nodes.length);
  const first = nodes[next]!;
  const client: Redis = new Redis({
    ...base,
    ...clusterNodeAuth(url),
    host: first.host,
    port: first.port,
    retryStrategy: (attempt) => {
      // ioredis's connector reads host and port from these options at every connect.
      next = (next + 1) % nodes.length;
      client.options.host = nodes[next]!.host;
      client.options.port = nodes[next]!.port;
      return attempt <= nodes.length ? 0 : backoff(attempt - nodes.length);
    },
  });
  return client;
}

/**
 * Connects a subscriber from {@link createSubscriberConnection}. On a single Redis that is
 * `connect()`: it fails at once while Redis is down, so a service does not start without it. On a
 * cluster the first seed may be a dead node (a failed master not yet forgotten), and `connect()`
 * rejects on that node's refusal ("Connection is closed") although the retry strategy is already
 * on its way to the next seed; so this waits for `ready` from whichever seed answers, and fails only
 * when none did within a connect timeout per seed (the retry strategy then backs off and the
 * caller disconnects).
 */
export async function connectSubscriber(subscriber: Redis, target: string | RedisTarget): Promise<void> {
  const seeds = toRedisTarget(target).clusterNodes?.length ?? 0;
  if (seeds === 0) {
    await subscriber.connect();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      subscriber.off('ready', onReady);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const timer = setTimeout(
      () =>
        done(new Error(`no cluster seed accepted the subscriber within ${seeds * CONNECT_TIMEOUT_MS} ms`)),
      seeds * CONNECT_TIMEOUT_MS,
    );
    subscriber.once('ready', onReady);
    // Its rejection is a seed's refusal, which the retry strategy answers by trying the next one.
    subscriber.connect().catch(() => undefined);
  });
}
