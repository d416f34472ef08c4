// @ts-check
'use strict';
// The test clients of the several-hosts rehearsal, run inside the client namespace (`ip netns exec`,
// started by test/support/netns-client.ts): the test process lives in the root namespace, which has
// no route to the rehearsal's subnet. Commands arrive on Node's IPC channel as
// `{id, op, ...}`; each gets one `{id, ok, result | error}` answer, and socket events are pushed as
// `{type: 'event', socket, event, data, at}` the moment they arrive (`at`: this process's
// Date.now(), the same clock as the test's). Plain CommonJS so it runs under node without a build.

const { performance } = require('node:perf_hooks');
const { ConcordClient, connectRealtime } = require('@concord/client');

/** @type {string | undefined} */
let ca;
/** @type {Map<string, import('@concord/client').ConcordClient>} */
const clients = new Map();
/** @type {Map<string, import('@concord/client').RealtimeClient>} */
const sockets = new Map();

const FORWARDED_EVENTS = [
  'session:revoked',
  'settings.changed',
  'presence:join',
  'presence:leave',
  'message',
];

/** @param {{ baseUrl: string, localAddress?: string }} from */
function clientFor(from) {
  const key = `${from.baseUrl} ${from.localAddress ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = new ConcordClient({
      baseUrl: from.baseUrl,
      ca,
      localAddress: from.localAddress,
      timeoutMs: 60_000,
    });
    clients.set(key, client);
  }
  return client;
}

/** @param {string} id */
function socketOf(id) {
  const socket = sockets.get(id);
  if (!socket) throw new Error(`no socket ${id}`);
  return socket;
}

/** @param {unknown} value */
function send(value) {
  process.send?.(value);
}

/** @type {Record<string, (msg: any) => Promise<unknown>>} */
const ops = {
  async init(msg) {
    ca = msg.ca;
    return {};
  },
  async request(msg) {
    const started = performance.now();
    const res = await clientFor(msg.from).request(msg.method, msg.path, msg.options ?? {});
    return { status: res.status, headers: res.headers, body: res.body, ms: performance.now() - started };
  },
  async connect(msg) {
    const rt = connectRealtime({
      url: msg.url,
      token: msg.token,
      ca,
      localAddress: msg.localAddress,
      transports: msg.transports,
      // One connection per socket id: a reconnect would hide which replica the test reached.
      socketOptions: { reconnection: false, forceNew: true, timeout: 10_000 },
    });
    sockets.set(msg.socket, rt);
    for (const event of FORWARDED_EVENTS) {
      rt.socket.on(/** @type {any} */ (event), (/** @type {unknown} */ data) =>
        send({ type: 'event', socket: msg.socket, event, data, at: Date.now() }),
      );
    }
    rt.socket.on('disconnect', (reason) =>
      send({ type: 'event', socket: msg.socket, event: 'disconnect', data: reason, at: Date.now() }),
    );
    try {
      await rt.connected();
      return { connected: true };
    } catch (err) {
      rt.close();
      sockets.delete(msg.socket);
      return { connected: false, data: /** @type {{ data?: unknown }} */ (err).data, message: String(err) };
    }
  },
  // Closes every pooled connection (after a gateway reload: an old worker closes idle keep-alive
  // connections, and a request racing that close would fail with "socket hang up").
  async dropConnections() {
    for (const c of clients.values()) c.close();
    clients.clear();
    return {};
  },
  async subscribe(msg) {
    return socketOf(msg.socket).subscribe(msg.channel);
  },
  async presence(msg) {
    return socketOf(msg.socket).presence();
  },
  async close(msg) {
    sockets.get(msg.socket)?.close();
    sockets.delete(msg.socket);
    return {};
  },
};

process.on('message', (/** @type {any} */ msg) => {
  const op = ops[msg.op];
  if (!op) {
    send({ id: msg.id, ok: false, error: `unknown op ${msg.op}` });
    return;
  }
  op(msg).then(
    (result) => send({ id: msg.id, ok: true, result }),
    (err) => send({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

// The test ends the worker with SIGTERM (or by closing the channel): close every connection first.
const shutdown = () => {
  for (const s of sockets.values()) s.close();
  for (const c of clients.values()) c.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('disconnect', shutdown);
send({ type: 'ready' });
