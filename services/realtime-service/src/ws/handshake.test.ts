import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthContext, Authenticator } from '@concord/common';
import pino from 'pino';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import type { PresenceTracker } from '../domain/presence-tracker';
import { handshakeMiddleware } from './handshake';

const TOKEN = 'header.payload.signature';

/** A real Socket.IO server with the handshake middleware; the authenticator and presence in memory. */
async function setup() {
  const seen: (string | undefined)[] = [];
  const authenticator: Authenticator = {
    async authenticate(token) {
      seen.push(token);
      const now = Math.floor(Date.now() / 1000);
      const auth: AuthContext = {
        sub: 'u-1',
        sid: 's-1',
        jti: 'j-1',
        role: 'member',
        iat: now,
        exp: now + 600,
        token: token!,
      };
      return auth;
    },
    requireAuth: () => undefined,
  };
  const presence = {
    track: async () => 'connected' as const,
    untrack: async () => undefined,
  } as unknown as PresenceTracker;
  const httpServer = http.createServer();
  const server = new Server(httpServer);
  server.use(
    handshakeMiddleware({
      authenticator,
      resolveClientIp: (peer) => ({ ip: peer, proto: 'http', host: undefined }),
      presence,
      maxSocketsPerUser: 20,
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      logger: pino({ level: 'silent' }),
      isDraining: () => false,
    }),
  );
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const clients: Socket[] = [];
  return {
    server,
    seen,
    client(auth: Record<string, unknown>) {
      const c = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
      clients.push(c);
      return c;
    },
    async cleanup() {
      for (const c of clients) c.close();
      await server.close();
    },
  };
}

describe('handshake middleware', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    t = await setup();
  });
  afterEach(() => t.cleanup());

  it('when a handshake is admitted, the socket no longer holds its bearer token', async () => {
    const onServer = new Promise<Record<string, unknown>>((resolve) =>
      t.server.on('connection', (socket) => resolve(socket.handshake.auth)),
    );
    t.client({ token: TOKEN });

    const auth = await onServer;

    expect(t.seen).toEqual([TOKEN]);
    expect(JSON.stringify(auth)).not.toContain(TOKEN);
  });
});
