import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

/**
 * A synthetic Concord gateway (plain HTTP on loopback, no TLS) with faults a real one must never
 * have, so the tests can show that the load tool *notices* them: a stall of every request in a
 * time window (coordinated omission), a settings PUT that ignores If-Match (lost updates), and a
 * revocation that is acknowledged but not enforced (revoked tokens accepted).
 */
export interface FakeGatewayOptions {
  /** `/auth/me` requests arriving in `[fromMs, fromMs + forMs)` after the first one wait until its end. */
  stall?: { fromMs: number; forMs: number };
  /** PUT answers 200 whatever the If-Match says. */
  lossyCas?: boolean;
  /** Logout answers 204 but the session's tokens keep working (HTTP and sockets). */
  ignoreRevocation?: boolean;
}

/** The running fake. */
export interface FakeGateway {
  url: string;
  /** Counters for assertions. */
  stats: { me: number; logins: number; usersCreated: number };
  close(): Promise<void>;
}

function json(
  res: http.ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Starts the fake on a free loopback port. */
export async function startFakeGateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const sessions = new Map<string, { sid: string; userId: string; revoked: boolean }>(); // by token
  const users = new Map<string, string>(); // username -> id
  const settings = new Map<string, { value: number; revision: number }>();
  let revision = 0;
  let setupDone = false;
  let stallOrigin = Number.POSITIVE_INFINITY;
  const stats = { me: 0, logins: 0, usersCreated: 0 };

  const tokenOf = (req: http.IncomingMessage) => /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const valid = (token: string | undefined) => {
    const s = token === undefined ? undefined : sessions.get(token);
    return s !== undefined && (!s.revoked || options.ignoreRevocation === true) ? s : undefined;
  };
  const issue = (userId: string) => {
    const token = randomUUID();
    const sid = randomUUID();
    sessions.set(token, { sid, userId, revoked: false });
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: randomUUID(),
      refresh_expires_in: 86_400,
      session: { session_id: sid, user_id: userId },
    };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      const url = new URL(req.url ?? '/', 'http://x');
      const route = `${req.method} ${url.pathname}`;
      if (route === 'GET /.well-known/jwks.json') return json(res, 200, { keys: [] });
      if (route === 'POST /api/v1/auth/setup') {
        if (setupDone) return json(res, 409, { error: 'RESOURCE_CONFLICT' });
        setupDone = true;
        users.set(String(body.username), randomUUID());
        return json(res, 201, { id: users.get(String(body.username)) });
      }
      if (route === 'POST /api/v1/auth/login') {
        const id = users.get(String(body.username));
        if (!id) return json(res, 401, { error: 'INVALID_CREDENTIALS' });
        stats.logins++;
        return json(res, 200, issue(id));
      }
      const session = valid(tokenOf(req));
      if (!session) return json(res, 401, { error: 'SESSION_REVOKED' });
      if (route === 'POST /api/v1/users') {
        const id = randomUUID();
        users.set(String(body.username), id);
        stats.usersCreated++;
        return json(res, 201, { id, username: body.username, role: body.role });
      }
      if (route === 'GET /api/v1/auth/me') {
        stats.me++;
        if (stats.me === 1) stallOrigin = performance.now();
        const answer = () => json(res, 200, { id: session.userId, session_id: session.sid });
        const stall = options.stall;
        const t = performance.now() - stallOrigin;
        if (stall && t >= stall.fromMs && t < stall.fromMs + stall.forMs) {
          setTimeout(answer, stall.fromMs + stall.forMs - t);
          return;
        }
        return answer();
      }
      if (route === 'POST /api/v1/auth/logout') {
        for (const s of sessions.values()) if (s.sid === session.sid) s.revoked = true;
        if (!options.ignoreRevocation) {
          io.in(`s:${session.sid}`).emit('session:revoked', { reason: 'logout' });
          io.in(`s:${session.sid}`).disconnectSockets(true);
        }
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'DELETE' && /^\/api\/v1\/users\/[^/]+\/sessions$/.test(url.pathname)) {
        return json(res, 200, { revoked: 0 });
      }
      const key = /^\/api\/v1\/settings\/bench\/([a-z0-9_]+)$/.exec(url.pathname)?.[1];
      if (key) {
        const current = settings.get(key) ?? { value: 0, revision: 0 };
        const etag = `"${current.revision}"`;
        if (req.method === 'GET') return json(res, 200, { key, value: current.value }, { etag });
        if (req.method === 'DELETE') return json(res, 200, { key, value: 0 }, { etag });
        if (req.method === 'PUT') {
          if (!options.lossyCas && req.headers['if-match'] !== etag) {
            return json(res, 412, { error: 'VERSION_CONFLICT' }, { etag });
          }
          const next = { value: Number(body.value), revision: ++revision };
          settings.set(key, next);
          return json(res, 200, { key, value: next.value }, { etag: `"${next.revision}"` });
        }
      }
      json(res, 404, { error: 'RESOURCE_NOT_FOUND' });
    });
  });
  const io = new Server(server, { transports: ['websocket'] });
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: string }).token;
    const session = valid(token);
    if (!session) {
      return next(
        Object.assign(new Error('revoked'), {
          data: { code: 1002, error: 'SESSION_REVOKED', detail: 'revoked' },
        }),
      );
    }
    socket.data.sid = session.sid;
    next();
  });
  io.on('connection', (socket) => void socket.join(`s:${String(socket.data.sid)}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    async close() {
      await io.close();
      server.closeAllConnections();
    },
  };
}
