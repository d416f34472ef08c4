import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { withOpenFiles } from './realtime-processes';

/** One socket to open: a node URL and, for ours, the access token of the handshake. */
export interface ClientTarget {
  url: string;
  token?: string;
}

/** What one connect round measured (summed over the workers). */
export interface ConnectOutcome {
  connected: number;
  failed: number;
  failures: string[];
  /** Wall time from the first connect started to the last one done (the slowest worker). */
  connectMs: number;
  subscribed: number;
  subscribeFailures: string[];
}

/** Deliveries recorded under one probe key. */
export interface Deliveries {
  latencies: number[];
  lastAt: number;
}

/** The client processes (realtime-clients.worker.ts) and the requests they answer. */
export interface ClientWorkers {
  pids(): number[];
  /** Spreads `targets` over the workers (round robin), connects, then subscribes each to `channel`. */
  connect(
    targets: ClientTarget[],
    o: { concurrency: number; channel: string; timeoutMs: number },
  ): Promise<ConnectOutcome>;
  /** Deliveries recorded so far per key, summed over the workers. */
  counts(keys: string[]): Promise<Record<string, number>>;
  /** Takes (and forgets) the deliveries of `keys`. */
  take(keys: string[]): Promise<Record<string, Deliveries>>;
  /** Disconnects every socket. */
  closeSockets(): Promise<void>;
  stop(): Promise<void>;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

function startWorker(
  index: number,
  socketsEach: number,
): { child: ChildProcess; call(req: object): Promise<unknown> } {
  const script = path.join(__dirname, 'realtime-clients.worker.js');
  // Each socket is a file descriptor; leave room for the runtime's own.
  const [cmd, args] = withOpenFiles([process.execPath, script], socketsEach + 1_024);
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, Pending>();
  let seq = 0;
  child.on('message', (raw: { seq: number; result?: unknown; error?: string }) => {
    const p = pending.get(raw.seq);
    if (raw.seq === -1 || !p) return;
    pending.delete(raw.seq);
    if (raw.error !== undefined) p.reject(new Error(`client worker ${index}: ${raw.error}`));
    else p.resolve(raw.result);
  });
  child.once('exit', (code, signal) => {
    for (const p of pending.values())
      p.reject(new Error(`client worker ${index} exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    child,
    call(req) {
      return new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        child.send({ ...req, seq: id });
      });
    },
  };
}

/** Starts `count` client processes, each ready for about `socketsEach` sockets. */
export function startClientWorkers(count: number, socketsEach: number): ClientWorkers {
  const workers = Array.from({ length: count }, (_, i) => startWorker(i + 1, socketsEach));
  const all = <T>(req: object) => Promise.all(workers.map((w) => w.call(req) as Promise<T>));
  const sumByKey = (parts: Record<string, number>[], keys: string[]) =>
    Object.fromEntries(keys.map((k) => [k, parts.reduce((s, p) => s + (p[k] ?? 0), 0)]));
  return {
    pids: () => workers.map((w) => w.child.pid ?? -1),
    async connect(targets, o) {
      const parts = await Promise.all(
        workers.map(
          (w, i) =>
            w.call({
              op: 'connect',
              targets: targets.filter((_, n) => n % workers.length === i),
              concurrency: o.concurrency,
              subscribe: o.channel,
              timeoutMs: o.timeoutMs,
            }) as Promise<ConnectOutcome>,
        ),
      );
      return {
        connected: parts.reduce((s, p) => s + p.connected, 0),
        failed: parts.reduce((s, p) => s + p.failed, 0),
        failures: parts.flatMap((p) => p.failures),
        connectMs: Math.max(...parts.map((p) => p.connectMs)),
        subscribed: parts.reduce((s, p) => s + p.subscribed, 0),
        subscribeFailures: parts.flatMap((p) => p.subscribeFailures),
      };
    },
    async counts(keys) {
      return sumByKey(await all<Record<string, number>>({ op: 'counts', keys }), keys);
    },
    async take(keys) {
      const parts = await all<Record<string, Deliveries>>({ op: 'take', keys });
      return Object.fromEntries(
        keys.map((k) => [
          k,
          {
            latencies: parts.flatMap((p) => p[k]?.latencies ?? []),
            lastAt: Math.max(0, ...parts.map((p) => p[k]?.lastAt ?? 0)),
          },
        ]),
      );
    },
    async closeSockets() {
      await all({ op: 'close' });
    },
    async stop() {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
              w.child.once('exit', () => resolve());
              w.child.disconnect();
              setTimeout(() => w.child.kill('SIGKILL'), 5_000).unref();
            }),
        ),
      );
    },
  };
}
