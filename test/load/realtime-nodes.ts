import path from 'node:path';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from '../support/processes';
import { repoRoot } from './bench-stack';
import { rssBytes, withOpenFiles } from './realtime-processes';

/** The two servers the realtime benchmark compares. */
export type RealtimeSide = 'ours' | 'bare';

/** One Socket.IO server process under test. */
export interface RealtimeNode {
  id: string;
  url: string;
  pid: number;
  process: ManagedProcess;
  rss(): number;
}

/** Options of {@link startRealtimeNodes}. */
export interface RealtimeNodesOptions {
  side: RealtimeSide;
  count: number;
  /** Sockets each node will hold (sets its open-file limit). */
  socketsEach: number;
  /** realtime-service's environment (database, Redis, prefix, JWKS, adapter …); bare needs Redis and a prefix. */
  env: Record<string, string>;
}

/**
 * Starts `count` server processes (realtime-service from its build, or the bare baseline from
 * this directory's build) on free ports and waits until each answers `/readyz`. The processes'
 * output is kept only as the harness's 64 KiB tail, for failure messages.
 */
export async function startRealtimeNodes(o: RealtimeNodesOptions): Promise<RealtimeNode[]> {
  const main =
    o.side === 'ours'
      ? path.join(repoRoot(), 'services/realtime-service/dist/main.js')
      : path.join(__dirname, 'realtime-baseline-server.js');
  const nodes: RealtimeNode[] = [];
  try {
    for (let i = 1; i <= o.count; i++) {
      const id = `${o.side === 'ours' ? 'realtime-bench' : 'bare-socketio'}-${i}`;
      const port = await freePort();
      const [cmd, args] = withOpenFiles([process.execPath, main], o.socketsEach + 1_024);
      const proc = spawnManaged(id, cmd, args, {
        ...o.env,
        PORT: String(port),
        METRICS_PORT: String(await freePort()),
        REPLICA_ID: id,
      });
      const pid = proc.child.pid ?? -1;
      nodes.push({ id, url: `http://127.0.0.1:${port}`, pid, process: proc, rss: () => rssBytes(pid) });
    }
    for (const n of nodes) {
      await waitFor(
        async () => (await fetch(`${n.url}/readyz`)).status === 200,
        30_000,
        () => `${n.id} did not become ready:\n${n.process.output()}`,
      );
    }
    return nodes;
  } catch (err) {
    await stopRealtimeNodes(nodes);
    throw err;
  }
}

/** SIGTERM (realtime-service drains, then exits), SIGKILL after 15 s. */
export async function stopRealtimeNodes(nodes: readonly RealtimeNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.process.stop(15_000)));
}
