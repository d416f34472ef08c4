/**
 * A process of realtime benchmark clients (socket.io-client), driven by the bench over IPC
 * (realtime-clients.ts). Splitting the sockets over processes keeps each under the open-file limit
 * and lets the clients use both cores. Every `message` whose `data` is `{k, sentAt}` is recorded
 * under key `k` with its delivery latency: receive time minus `sentAt`, both in ms of the shared
 * wall clock (`performance.timeOrigin + performance.now()`, sub-millisecond, same machine).
 */
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { runBounded } from './bounded';

const target = z.object({ url: z.string(), token: z.string().optional() });
const request = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('connect'),
    seq: z.number(),
    targets: z.array(target),
    concurrency: z.number().int().positive(),
    subscribe: z.string(),
    timeoutMs: z.number().positive(),
  }),
  z.object({ op: z.literal('counts'), seq: z.number(), keys: z.array(z.string()) }),
  z.object({ op: z.literal('take'), seq: z.number(), keys: z.array(z.string()) }),
  z.object({ op: z.literal('close'), seq: z.number() }),
]);
type Request = z.infer<typeof request>;

const probe = z.object({ k: z.string(), sentAt: z.number() });
const now = () => performance.timeOrigin + performance.now();

const sockets: Socket[] = [];
const received = new Map<string, { latencies: number[]; lastAt: number }>();

function record(message: unknown): void {
  const data = probe.safeParse((message as { data?: unknown } | null)?.data);
  if (!data.success) return;
  const at = now();
  const entry = received.get(data.data.k) ?? { latencies: [], lastAt: 0 };
  entry.latencies.push(at - data.data.sentAt);
  entry.lastAt = Math.max(entry.lastAt, at);
  received.set(data.data.k, entry);
}

function connectOne(t: z.infer<typeof target>, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(t.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
      auth: t.token ? { token: t.token } : {},
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      socket.close();
      reject(new Error(`${err.message}${err.data ? ` ${JSON.stringify(err.data)}` : ''}`));
    });
  });
}

function subscribe(socket: Socket, channel: string, timeoutMs: number): Promise<void> {
  return socket
    .timeout(timeoutMs)
    .emitWithAck('subscribe', channel)
    .then((ack: { ok?: boolean; error?: unknown }) => {
      if (ack?.ok !== true) throw new Error(`subscribe answered ${JSON.stringify(ack)}`);
    });
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'connect': {
      const started = now();
      const outcome = await runBounded(req.targets, req.concurrency, async (t) => {
        const socket = await connectOne(t, req.timeoutMs);
        socket.on('message', record);
        sockets.push(socket);
        return socket;
      });
      const connectMs = now() - started;
      const subscribed = await runBounded(outcome.done, req.concurrency, (s) =>
        subscribe(s, req.subscribe, req.timeoutMs),
      );
      return {
        connected: outcome.done.length,
        connectMs,
        firstAt: started,
        failed: outcome.failed,
        failures: outcome.failures,
        subscribed: subscribed.done.length,
        subscribeFailures: subscribed.failures,
      };
    }
    case 'counts':
      return Object.fromEntries(req.keys.map((k) => [k, received.get(k)?.latencies.length ?? 0]));
    case 'take': {
      const out = Object.fromEntries(
        req.keys.map((k) => [k, received.get(k) ?? { latencies: [], lastAt: 0 }]),
      );
      for (const k of req.keys) received.delete(k);
      return out;
    }
    case 'close': {
      const gone = sockets.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.connected) return resolve();
            s.once('disconnect', () => resolve());
            s.disconnect();
          }),
      );
      await Promise.all(gone);
      return { closed: gone.length };
    }
  }
}

process.on('message', (raw: unknown) => {
  const parsed = request.safeParse(raw);
  if (!parsed.success) {
    process.send?.({ seq: -1, error: `bad request: ${parsed.error.message}` });
    return;
  }
  handle(parsed.data).then(
    (result) => process.send?.({ seq: parsed.data.seq, result }),
    (err: unknown) => process.send?.({ seq: parsed.data.seq, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
