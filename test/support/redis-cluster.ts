import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { runCleanup } from '../../services/auth-service/test/support/auth-harness';
import { spawnManaged, waitFor, type ManagedProcess } from './processes';

/** Redis Cluster's cluster-bus port is the client port + 10000 (cluster-port 0, the default). */
const BUS_OFFSET = 10_000;
const HOST = '127.0.0.1';

/** One redis-server of a {@link PrivateRedisCluster}. */
export interface RedisClusterNode {
  port: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  /** CLUSTER MYID, set once the cluster is formed. */
  id: string;
  /** False after {@link kill} (SIGKILL, as a crash: nothing persisted). */
  alive(): boolean;
  kill(): Promise<void>;
  /** SIGSTOP: the node stops answering, replicating and gossiping until {@link resume}. */
  pause(): void;
  resume(): void;
}

/** What `CLUSTER NODES` says about one node, seen from a live node. */
export interface ClusterNodeView {
  id: string;
  address: string;
  role: 'master' | 'slave';
  masterId?: string;
  failed: boolean;
  slots: string[];
}

/** Three masters with one replica each on free loopback ports, private to one test. */
export interface PrivateRedisCluster {
  nodes: RedisClusterNode[];
  /** `REDIS_CLUSTER_NODES`: every node, comma-separated. */
  seeds: string;
  /** The node that owns `key`'s slot now (CLUSTER KEYSLOT + CLUSTER NODES on a live node). */
  masterFor(key: string): Promise<RedisClusterNode>;
  /** `CLUSTER NODES` as seen from a live node. */
  view(): Promise<ClusterNodeView[]>;
  /**
   * Waits until `killed` (a master, {@link RedisClusterNode.kill}ed) has lost its slots to one of
   * the replicas it had when it was killed, and every live node reports `cluster_state:ok`;
   * returns the promoted node.
   */
  waitForFailover(killed: RedisClusterNode, timeoutMs?: number): Promise<RedisClusterNode>;
  /** One command on a fresh connection to `node` (never a cluster client: no redirects). */
  command(node: RedisClusterNode, name: string, ...args: (string | number)[]): Promise<unknown>;
  cleanup(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /**
   * `cluster-node-timeout` (ms): how long a master may be unreachable before it is failed and its
   * replica is promoted. Short by default so a rehearsal's failover takes seconds.
   */
  nodeTimeoutMs?: number;
  /** Bound on forming the cluster and on each wait (ms). */
  timeoutMs?: number;
}

/** Fails (never skips) when a prerequisite is missing: DESIGN.md section 9. */
function requireTool(name: string): void {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${name} is required for the Redis Cluster tests (apt-get install redis-server redis-tools)`,
    );
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` distinct ports whose bus ports (+10000) are free too. Port 0 cannot be used (the bus port
 * follows the client port), so candidates are drawn below 55536 and both are bound once to check.
 */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 500) throw new Error('no free loopback port pairs (port, port + 10000) for Redis Cluster');
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (ports.some((p) => Math.abs(p - port) === BUS_OFFSET || p === port)) continue;
    if ((await canBind(port)) && (await canBind(port + BUS_OFFSET))) ports.push(port);
  }
  return ports;
}

function parseNodes(text: string): ClusterNodeView[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.split(' ');
      const flagList = (flags ?? '').split(',');
      return {
        id: id!,
        address: (addr ?? '').split('@')[0]!,
        role: flagList.includes('master') ? 'master' : 'slave',
        masterId: master && master !== '-' ? master : undefined,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        slots,
      };
    });
}

/**
 * Starts a Redis Cluster of three masters with one replica each (`redis-cli --cluster create …
 * --cluster-replicas 1`) in a temporary directory (per-node `cluster-config-file`, no persistence),
 * and waits until every node reports `cluster_state:ok` and each master has its replica. Everything
 * is removed by `cleanup`, and by this function itself when the start fails.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<PrivateRedisCluster> {
  requireTool('redis-server');
  requireTool('redis-cli');
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-redis-cluster-'));
  const procs = new Map<number, ManagedProcess>();
  const nodes: RedisClusterNode[] = [];
  /** Client port of a killed master -> ids of its replicas at the time. */
  const heirs = new Map<number, string[]>();

  const once = async <T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis(port, HOST, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1_000,
      // A paused (SIGSTOPped) node accepts the connection and never answers.
      commandTimeout: 2_000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return await fn(client);
    } finally {
      client.disconnect();
    }
  };
  const command = (port: number, name: string, ...args: (string | number)[]) =>
    once(port, (c) => c.call(name, ...args));
  const info = async (port: number) => String(await command(port, 'CLUSTER', 'INFO'));
  const live = () => nodes.filter((n) => n.alive());
  const view = async () => {
    for (const n of live()) {
      try {
        return parseNodes(String(await command(n.port, 'CLUSTER', 'NODES')));
      } catch {
        // try the next live node
      }
    }
    throw new Error('no live Redis Cluster node answers');
  };
  const byId = (id: string) => {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new Error(`unknown cluster node ${id}`);
    return node;
  };
  const allOk = async () => {
    for (const n of live()) if (!(await info(n.port)).includes('cluster_state:ok')) return false;
    return true;
  };
  const output = () => [...procs.values()].map((p) => `--- ${p.name}\n${p.output()}`).join('\n');
  const cleanup = () =>
    runCleanup([
      () => Promise.all([...procs.values()].map((p) => p.stop(2_000))),
      () => rmSync(dir, { recursive: true, force: true }),
    ]);

  try {
    for (const port of await clusterPorts(6)) {
      const nodeDir = path.join(dir, String(port));
      mkdirSync(nodeDir);
      const proc = spawnManaged(
        `redis-cluster-${port}`,
        'redis-server',
        [
          ...['--port', String(port), '--bind', HOST, '--dir', nodeDir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', path.join(nodeDir, 'nodes.conf')],
          ...['--cluster-node-timeout', String(nodeTimeoutMs)],
          // A replica is always eligible for promotion, however long ago it last heard its master.
          ...['--cluster-replica-validity-factor', '0'],
          ...['--save', '', '--appendonly', 'no'],
        ],
        {},
      );
      procs.set(port, proc);
      let alive = true;
      proc.child.once('exit', () => (alive = false));
      nodes.push({
        port,
        address: `${HOST}:${port}`,
        id: '',
        alive: () => alive,
        pause: () => proc.child.kill('SIGSTOP'),
        resume: () => proc.child.kill('SIGCONT'),
        async kill() {
          if (!alive) return;
          // Its replicas, as the cluster saw them just before the crash: one of them must take over.
          const me = nodes.find((n) => n.port === port)!;
          try {
            heirs.set(
              port,
              (await view()).filter((x) => x.masterId === me.id).map((x) => x.id),
            );
          } catch {
            heirs.set(port, []);
          }
          const exited = new Promise((r) => proc.child.once('exit', r));
          proc.child.kill('SIGKILL');
          await exited;
        },
      });
    }
    for (const n of nodes) {
      await waitFor(
        async () => (await command(n.port, 'PING')) === 'PONG',
        timeoutMs,
        () => `redis-server on ${n.port} did not start:\n${output()}`,
      );
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: timeoutMs },
    );
    if (create.status !== 0) {
      throw new Error(
        `redis-cli --cluster create failed (${create.status}):\n${create.stdout}${create.stderr}`,
      );
    }
    for (const n of nodes) n.id = String(await command(n.port, 'CLUSTER', 'MYID'));
    await waitFor(
      async () => {
        const v = await view();
        const masters = v.filter((x) => x.role === 'master' && x.slots.length > 0);
        const replicas = v.filter((x) => x.role === 'slave' && !x.failed);
        return (
          masters.length === 3 &&
          masters.every((m) => replicas.some((r) => r.masterId === m.id)) &&
          (await allOk())
        );
      },
      timeoutMs,
      () => `the Redis Cluster did not become ok:\n${output()}`,
    );
    // Replicas report ok before their first full sync; a failover needs a synced replica.
    await waitFor(
      async () => {
        for (const n of nodes) {
          const replication = String(await command(n.port, 'INFO', 'replication'));
          if (replication.includes('role:slave') && !replication.includes('master_link_status:up'))
            return false;
        }
        return true;
      },
      timeoutMs,
      () => `the Redis Cluster replicas did not sync:\n${output()}`,
    );
  } catch (err) {
    await cleanup();
    throw err;
  }

  return {
    nodes,
    seeds: nodes.map((n) => n.address).join(','),
    async masterFor(key) {
      const alive = live()[0];
      if (!alive) throw new Error('no live Redis Cluster node');
      const slot = Number(await command(alive.port, 'CLUSTER', 'KEYSLOT', key));
      for (const m of (await view()).filter((x) => x.role === 'master' && !x.failed)) {
        for (const range of m.slots) {
          const [from, to = from] = range.split('-').map(Number);
          if (slot >= from! && slot <= to!) return byId(m.id);
        }
      }
      throw new Error(`no live master owns slot ${slot}`);
    },
    view,
    async waitForFailover(killed, waitMs = timeoutMs) {
      const expected = heirs.get(killed.port);
      if (!expected) throw new Error(`${killed.address} was not killed as a master`);
      let promoted: RedisClusterNode | undefined;
      await waitFor(
        async () => {
          const v = await view();
          const heir = v.find((x) => expected.includes(x.id) && x.role === 'master' && x.slots.length > 0);
          const old = v.find((x) => x.id === killed.id);
          if (!heir || (old && old.slots.length > 0) || !(await allOk())) return false;
          promoted = byId(heir.id);
          return true;
        },
        waitMs,
        () => `no replica took over from ${killed.address}:\n${output()}`,
      );
      return promoted!;
    },
    command: (node, name, ...args) => command(node.port, name, ...args),
    cleanup,
  };
}
