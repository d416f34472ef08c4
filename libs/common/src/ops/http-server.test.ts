import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { adoptAppPrototypes, closeGracefully, createServer, listen } from './http-server';

interface Seen {
  request: object | null;
  response: object | null;
}

/** Listens on a free port, runs `body` with its base URL, closes. */
async function withServer(server: http.Server, body: (url: string) => Promise<void>): Promise<void> {
  await listen(server, 0, '127.0.0.1');
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await closeGracefully(server, 1_000);
  }
}

/** Records the prototypes of the next request and response before any listener of `server` runs. */
function watch(server: http.Server): Seen {
  const seen: Seen = { request: null, response: null };
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.request = Object.getPrototypeOf(req) as object;
    seen.response = Object.getPrototypeOf(res) as object;
  });
  return seen;
}

function app() {
  const a = express();
  a.get('/q', (req, res) => {
    res.status(201).json({
      query: req.query,
      host: req.get('host') !== undefined,
      node: req instanceof http.IncomingMessage,
    });
  });
  return a;
}

describe('createServer', () => {
  it("creates an Express app's requests and responses on the app's own prototypes, before Express sees them", async () => {
    const a = app();
    const server = createServer(a);
    const seen = watch(server);
    await withServer(server, async (url) => {
      const res = await fetch(`${url}/q?x=1`);
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ query: { x: '1' }, host: true, node: true });
    });
    expect(seen.request).toBe(a.request);
    expect(seen.response).toBe(a.response);
  });

  it('adopts the prototypes of an app named later, for a server whose handler exists first', async () => {
    const a = app();
    const handler: { app?: http.RequestListener } = {};
    const server = createServer((req, res) => handler.app?.(req, res));
    const seen = watch(server);
    handler.app = a;
    adoptAppPrototypes(server, a);
    await withServer(server, async (url) => {
      expect((await fetch(`${url}/q`)).status).toBe(201);
    });
    expect(seen.request).toBe(a.request);
    expect(seen.response).toBe(a.response);
  });

  it("keeps Node's own prototypes for a plain handler, and for a handler that is no Express app", async () => {
    const server = createServer((_req, res) => {
      res.end('plain');
    });
    adoptAppPrototypes(server, (_req: http.IncomingMessage, res: http.ServerResponse) => res.end());
    adoptAppPrototypes(
      server,
      Object.assign(() => undefined, { request: {}, response: {} }),
    );
    const seen = watch(server);
    await withServer(server, async (url) => {
      expect(await (await fetch(url)).text()).toBe('plain');
    });
    expect(seen.request).toBe(http.IncomingMessage.prototype);
    expect(seen.response).toBe(http.ServerResponse.prototype);
  });
});
