import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

/** Direct TLS on a service (DESIGN.md section 7); `ca` turns on client-certificate verification. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

/**
 * Node keeps idle upstream connections longer than nginx does (`keepalive_timeout 60s`), so nginx
 * never reuses a socket that Node is closing; `headersTimeout` must exceed `keepAliveTimeout`.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Creates (does not listen) an HTTP or HTTPS server with Concord's timeouts and its one request
 * handler: a component that attaches to the server later (Socket.IO) wraps that handler, so no
 * request is ever answered twice.
 */
export function createServer(listener: RequestListener, tls?: TlsFiles): http.Server {
  const server = tls
    ? https.createServer(
        {
          cert: readFileSync(tls.cert),
          key: readFileSync(tls.key),
          ...(tls.ca ? { ca: readFileSync(tls.ca), requestCert: true, rejectUnauthorized: true } : {}),
          minVersion: 'TLSv1.2',
        },
        listener,
      )
    : http.createServer(listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  return server;
}

/** Listens and resolves with the bound port (port 0 picks a free one). */
export function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops accepting, lets in-flight requests finish, closes idle keep-alive sockets, and after
 * `graceMs` cuts whatever is left.
 */
export function closeGracefully(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
