import path from 'node:path';
import type { RealtimeAck, RealtimeErrorPayload, RequestOptions } from '@concord/client';
import type { HostNetwork } from './netns-hosts';
import type { ManagedProcess } from './processes';

const WORKER = path.join(__dirname, 'netns-client-worker.js');

/** Where a request comes from and goes to. */
export interface Origin {
  baseUrl: string;
  /** One of the client host's addresses. */
  localAddress?: string;
}

/** An answer, with the time it took as the client saw it. */
export interface TimedResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  ms: number;
}

/** A socket event as it arrived in the client namespace (`at`: Date.now() there, the same clock). */
export interface SocketEvent {
  socket: string;
  event: string;
  data: unknown;
  at: number;
}

/** Test clients in a namespace of their own (test/support/netns-client-worker.js). */
export interface NetnsClient {
  request<T = unknown>(
    from: Origin,
    method: string,
    path: string,
    options?: RequestOptions,
  ): Promise<TimedResponse<T>>;
  /** Opens socket `id` (no reconnection); resolves with the refusal's payload when refused. */
  connect(
    id: string,
    options: { url: string; token: string; localAddress?: string; transports?: ('websocket' | 'polling')[] },
  ): Promise<{ connected: boolean; data?: RealtimeErrorPayload }>;
  subscribe(id: string, channel: string): Promise<RealtimeAck>;
  closeSocket(id: string): Promise<void>;
  /** Closes the pooled HTTP connections (sockets stay). */
  dropConnections(): Promise<void>;
  /** Every event of socket `id` so far. */
  events(id: string): SocketEvent[];
  /** The first event of `id` named `event` (and matching `match`), waiting up to `timeoutMs`. */
  nextEvent(
    id: string,
    event: string,
    timeoutMs: number,
    match?: (e: SocketEvent) => boolean,
  ): Promise<SocketEvent>;
  stop(): Promise<void>;
}

interface Answer {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Starts the worker inside `host` of `network`, trusting `ca`. */
export async function startNetnsClient(network: HostNetwork, host: string, ca: string): Promise<NetnsClient> {
  const worker: ManagedProcess = network.spawn(host, 'client', process.execPath, [WORKER], {}, { ipc: true });
  const { child } = worker;
  const pending = new Map<number, (answer: Answer) => void>();
  const events: SocketEvent[] = [];
  const waiters = new Set<() => void>();
  let nextId = 1;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`client worker exited (${code}):\n${worker.output()}`)));
    child.on('message', (msg: Answer & { type?: string }) => {
      if (msg.type === 'ready') resolve();
      else if (msg.type === 'event') {
        events.push(msg as unknown as SocketEvent);
        for (const wake of waiters) wake();
      } else pending.get(msg.id)?.(msg);
    });
  });
  const call = async <T>(op: string, args: Record<string, unknown>): Promise<T> => {
    const id = nextId++;
    const answer = await new Promise<Answer>((resolve) => {
      pending.set(id, resolve);
      child.send({ id, op, ...args });
    });
    pending.delete(id);
    if (!answer.ok) throw new Error(`client ${op} failed: ${answer.error}`);
    return answer.result as T;
  };
  await ready;
  await call('init', { ca });

  const find = (id: string, event: string, match?: (e: SocketEvent) => boolean) =>
    events.find((e) => e.socket === id && e.event === event && (match?.(e) ?? true));
  return {
    request: (from, method, p, options) => call('request', { from, method, path: p, options }),
    connect: (id, options) => call('connect', { socket: id, ...options }),
    subscribe: (id, channel) => call('subscribe', { socket: id, channel }),
    closeSocket: async (id) => void (await call('close', { socket: id })),
    dropConnections: async () => void (await call('dropConnections', {})),
    events: (id) => events.filter((e) => e.socket === id),
    nextEvent(id, event, timeoutMs, match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = find(id, event, match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${event} on socket ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => worker.stop(5_000),
  };
}
