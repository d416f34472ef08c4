import net from 'node:net';

/** A TCP forwarder in front of the shared Postgres, so one replica can lose it without anyone else. */
export interface TcpProxy {
  port: number;
  /** Cuts every connection and refuses new ones (Postgres "down"). */
  stop(): Promise<void>;
  /** Keeps connections open but forwards nothing either way (a partition). */
  blackhole(): void;
  /** Forwards again (after `stop`, listens again on the same port). */
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a forwarder on a free loopback port to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: 'forward' | 'blackhole' = 'forward';
  const sockets = new Set<net.Socket>();
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (mode === 'blackhole') return;
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.add({ client, upstream });
  });

  function listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  function closeServer(): Promise<void> {
    return new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      pairs.clear();
    });
  }

  const port = await listen(0);
  return {
    port,
    async stop() {
      await closeServer();
    },
    blackhole() {
      mode = 'blackhole';
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    async resume() {
      // Stalled connections stay stalled (their protocol state is lost); only new ones forward.
      mode = 'forward';
      if (!server.listening) await listen(port);
    },
    close: closeServer,
  };
}
