/**
 * The realtime benchmark's baseline: a bare Socket.IO 4.8 server on @socket.io/redis-adapter
 * (classic, ioredis), rooms only, no authentication, no presence, no limits — what a team would
 * write before adding Concord's checks. Run as its own process (`node realtime-baseline-server.js`)
 * so its RSS and CPU are measured like a realtime-service node's. Environment: `PORT`, `REDIS_URL`,
 * `REDIS_PREFIX` (nodes sharing a prefix form one cluster).
 *
 * - `subscribe(channel, ack)` joins room `ch:{channel}` and acks `{ok:true}` (the shape of ours);
 * - `POST /channels/{channel}/messages` with `{event, data}` emits `message {channel, event, data,
 *   id, ts}` to the room on every node and answers `202 {id}`, as ours does;
 * - `GET /readyz` answers 200 once the adapter's Redis connections are up.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const CHANNEL_PATH = /^\/channels\/([a-z0-9][a-z0-9:._-]{0,127})\/messages$/;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 0);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = process.env.REDIS_PREFIX ?? 'bench-baseline:';
  const pub = new Redis(redisUrl, { lazyConnect: true });
  const sub = new Redis(redisUrl, { lazyConnect: true });
  await Promise.all([pub.connect(), sub.connect()]);

  const server = http.createServer((req, res) => {
    const match = req.method === 'POST' ? CHANNEL_PATH.exec(req.url ?? '') : null;
    if (req.method === 'GET' && req.url === '/readyz') {
      res.writeHead(200).end('ok');
      return;
    }
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const channel = match[1]!;
    readBody(req).then(
      (text) => {
        let parsed: { event?: unknown; data?: unknown };
        try {
          parsed = JSON.parse(text) as { event?: unknown; data?: unknown };
        } catch {
          res.writeHead(400).end();
          return;
        }
        const id = randomUUID();
        io.to(`ch:${channel}`).emit('message', {
          channel,
          event: String(parsed.event),
          data: parsed.data ?? null,
          id,
          ts: new Date().toISOString(),
        });
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      },
      () => res.writeHead(400).end(),
    );
  });
  // Created after the request handler, which only reads it once requests arrive.
  const io = new Server(server, { path: '/socket.io/', serveClient: false, maxHttpBufferSize: 64 * 1024 });
  io.adapter(createAdapter(pub, sub, { key: `${prefix}socket.io` }));
  io.on('connection', (socket) => {
    socket.on('subscribe', (channel: unknown, ack: unknown) => {
      if (typeof channel !== 'string' || typeof ack !== 'function') return;
      void Promise.resolve(socket.join(`ch:${channel}`)).then(() =>
        (ack as (a: unknown) => void)({ ok: true }),
      );
    });
  });
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => {
    void io.close(() => {
      pub.disconnect();
      sub.disconnect();
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline server failed: ${String(err)}\n`);
  process.exit(1);
});
