import net from 'node:net';

/** A tiny TCP load balancer standing in for nginx: round robin, next backend on a refused connect. */
export interface TcpBalancer {
  port: number;
  close(): Promise<void>;
}

/** Listens on a free loopback port and forwards each connection to one of `backends` (host:port). */
export async function startTcpBalancer(
  backends: () => { host: string; port: number }[],
): Promise<TcpBalancer> {
  let next = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    const list = backends();
    const start = next++;
    const attempt = (i: number) => {
      if (i >= list.length) {
        client.destroy();
        return;
      }
      const target = list[(start + i) % list.length]!;
      const upstream = net.connect(target.port, target.host);
      upstream.once('error', () => {
        if (!upstream.readyState || upstream.connecting) attempt(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        open.add(upstream);
        upstream.on('close', () => {
          open.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
