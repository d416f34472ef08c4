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

interface MessageConstructor {
  new (...args: never[]): object;
  prototype: object;
}

/** The request and response constructors of each server {@link createServer} made. */
const messageConstructors = new WeakMap<
  http.Server,
  { request: MessageConstructor; response: MessageConstructor }
>();

/**
 * A constructor for the server's requests (or responses) whose objects are created with a prototype
 * chosen later ({@link adoptAppPrototypes}): `new` reads `prototype` at each construction, and a
 * function's `prototype` (unlike a class's) can be reassigned. Node's own `IncomingMessage` and
 * `ServerResponse` are plain functions, so calling one on the new object is exactly what `new` would
 * do. (`Reflect.construct` with this function as new.target measured 3x slower than the call.)
 */
function adoptable(base: typeof http.IncomingMessage | typeof http.ServerResponse): MessageConstructor {
  const init = base as unknown as (this: object, a: unknown, b: unknown) => void;
  const Message = function (this: object, a: unknown, b: unknown): void {
    init.call(this, a, b);
  } as unknown as MessageConstructor;
  Message.prototype = base.prototype;
  return Message;
}

/** Node's message types can be called on an object: plain functions, not classes. */
function callable(base: unknown): boolean {
  return typeof base === 'function' && !Function.prototype.toString.call(base).startsWith('class');
}

/** Whether this Node's message types allow {@link adoptable} constructors (Node 20: yes). */
const ADOPTABLE = callable(http.IncomingMessage) && callable(http.ServerResponse);

/**
 * Creates (does not listen) an HTTP or HTTPS server with Concord's timeouts and its one request
 * handler: a component that attaches to the server later (Socket.IO) wraps that handler, so no
 * request is ever answered twice.
 *
 * Its requests and responses are born on the app's prototypes when the listener is an Express app,
 * or once {@link adoptAppPrototypes} names the app. Express otherwise moves every request and
 * response onto them (`Object.setPrototypeOf` in `app.handle`), which turns every later property
 * access of Node's HTTP code on those objects slow: measured here, bare Express 5 answered 10k req/s
 * on one core that way and 22-33k with its messages born on its prototypes (Express then finds the
 * prototype already in place, and setting the same prototype changes nothing). See
 * expressjs/express#5998 and decision 025.
 */
export function createServer(listener: RequestListener, tls?: TlsFiles): http.Server {
  const constructors = ADOPTABLE
    ? { request: adoptable(http.IncomingMessage), response: adoptable(http.ServerResponse) }
    : undefined;
  const messages = constructors
    ? {
        IncomingMessage: constructors.request as unknown as typeof http.IncomingMessage,
        ServerResponse: constructors.response as unknown as typeof http.ServerResponse,
      }
    : {};
  const server = tls
    ? https.createServer(
        {
          cert: readFileSync(tls.cert),
          key: readFileSync(tls.key),
          ...(tls.ca ? { ca: readFileSync(tls.ca), requestCert: true, rejectUnauthorized: true } : {}),
          minVersion: 'TLSv1.2',
          ...messages,
        },
        listener,
      )
    : http.createServer(messages, listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  if (constructors) messageConstructors.set(server, constructors);
  adoptAppPrototypes(server, listener);
  return server;
}

/**
 * From now on `server` (made by {@link createServer}) creates its requests and responses on the
 * prototypes of `app` when it is an Express app (`app.request`, `app.response`; anything else
 * changes nothing): for a server whose handler hands requests to an app that exists only later.
 * Express's prototypes descend from Node's, so every request stays an `IncomingMessage` and every
 * response a `ServerResponse` for whatever else reads them (Socket.IO). Call it before the server
 * listens. A no-op on a Node whose message types are classes (Express's own move then applies).
 */
export function adoptAppPrototypes(server: http.Server, app: unknown): void {
  const constructors = messageConstructors.get(server);
  if (!constructors || typeof app !== 'function') return;
  const { request, response } = app as Partial<Record<'request' | 'response', unknown>>;
  if (!(request instanceof http.IncomingMessage) || !(response instanceof http.ServerResponse)) return;
  constructors.request.prototype = request;
  constructors.response.prototype = response;
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
