import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from './processes';

/** A throw-away redis-server on a free loopback port that a test may kill and restart. */
export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: nothing persisted, like a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Runs one command on a fresh connection (CONFIG SET, FLUSHALL, CLIENT LIST…) and returns its reply. */
  command(name: string, ...args: (string | number)[]): Promise<unknown>;
  cleanup(): Promise<void>;
}

/** Starts a private Redis (no persistence) for tests that restart Redis. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-redis-'));
  let proc: ManagedProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  /** Runs `fn` on a connection of its own that neither retries nor outlives the call. */
  const once = async <T>(fn: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      return await fn(client);
    } finally {
      client.disconnect();
    }
  };
  const start = async () => {
    proc = spawnManaged(
      'redis',
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      {},
    );
    await waitFor(
      async () => (await once((probe) => probe.ping())) === 'PONG',
      10_000,
      () => `redis-server did not start:\n${proc?.output()}`,
    );
  };
  await start();
  return {
    url,
    port,
    async kill() {
      if (!proc) return;
      const exited = new Promise((r) => proc!.child.once('exit', r));
      proc.child.kill('SIGKILL');
      await exited;
      proc = undefined;
    },
    start,
    command: (name, ...args) => once((client) => client.call(name, ...args)),
    async cleanup() {
      await proc?.stop(2_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
