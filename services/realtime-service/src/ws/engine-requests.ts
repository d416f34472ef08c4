import type { RequestListener } from 'node:http';

/** Where Socket.IO is served (DESIGN.md section 6). */
export const SOCKET_IO_PATH = '/socket.io/';

/** Whether Engine.IO owns the request: the same prefix test as its own `attach` (engine.io `check`). */
export function isEngineRequest(url: string | undefined): boolean {
  return (url ?? '').startsWith(SOCKET_IO_PATH);
}

/**
 * The public server's request listener for the HTTP API: `app` for every request Engine.IO does not
 * own. Engine.IO wraps only the `request` listeners present when it attaches, and the bootstrap adds
 * the service's app after the wiring, so both used to answer every long-polling request: Express's
 * 404 first, then Engine.IO's own answer threw ERR_HTTP_HEADERS_SENT outside any handler, which
 * killed the node (one unauthenticated GET through the gateway was enough).
 */
export function apiRequestsOnly(app: RequestListener): RequestListener {
  return (req, res) => {
    if (!isEngineRequest(req.url)) app(req, res);
  };
}
