import type http from 'node:http';
import type { PresenceEvent, RealtimeMessage, SettingsChangedEvent } from '@concord/client';
import {
  AppError,
  type Authenticator,
  type ClientIpResolver,
  type Clock,
  type Logger,
} from '@concord/common';
import { Server } from 'socket.io';
import { sessionRoom, userRoom, type ChannelDenial } from '../domain/channel-policy';
import type { PresenceStore, PresenceTransition } from '../domain/presence.ports';
import type { PresenceTracker } from '../domain/presence-tracker';
import { SOCKET_IO_PATH } from './engine-requests';
import { handshakeMiddleware } from './handshake';
import { attachSocketHandlers, type EventLimits } from './socket-handlers';
import type { SocketAdapter } from './socket-adapter';
import type { RealtimeIo, RealtimeSocket } from './socket-types';

/** DESIGN.md section 6: the largest packet a client may send. */
export const MAX_HTTP_BUFFER_SIZE = 64 * 1024;

/** Dependencies of {@link createRealtimeServer}. */
export interface RealtimeServerDeps {
  httpServer: http.Server;
  adapter: SocketAdapter['adapter'];
  authenticator: Authenticator;
  resolveClientIp: ClientIpResolver;
  presence: PresenceTracker;
  presenceStore: Pick<PresenceStore, 'list'>;
  maxSocketsPerUser: number;
  limits: EventLimits;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Local profile only: `X-Concord-Replica` on Engine.IO's answers too (DESIGN.md section 2). */
  replicaHeader?: string;
  clock: Clock;
  logger: Logger;
  onDenied?: (reason: ChannelDenial | 'cap' | 'refresh') => void;
  onFlood?: () => void;
}

/** The realtime node's Socket.IO side. */
export interface RealtimeServer {
  io: RealtimeIo;
  /** Delivers a message to every socket in `room` on every node (through the adapter). */
  publish(room: string, message: RealtimeMessage): void;
  /** Emits to this node's sockets subscribed to `settings` (every node consumes the events channel). */
  emitSettingsChanged(event: SettingsChangedEvent): void;
  /** Emits a presence transition to this node's sockets subscribed to `presence`. */
  emitPresence(transition: PresenceTransition): void;
  /** `session:revoked`, then disconnect, for this node's sockets of each revoked session. */
  cutSessions(sids: Iterable<string>): number;
  /** Sockets connected to this node. */
  sockets(): number;
  /** Shared-channel subscriptions on this node. */
  subscriptions(): number;
  /**
   * SIGTERM: refuse new handshakes and close every socket's transport (not `disconnect()`, which
   * tells socket.io-client not to reconnect), so clients reconnect to another replica by themselves.
   */
  drain(): void;
  close(): Promise<void>;
}

/** Builds the Socket.IO server on `httpServer` (which the caller listens on). */
export function createRealtimeServer(deps: RealtimeServerDeps): RealtimeServer {
  const { logger, clock } = deps;
  const io: RealtimeIo = new Server(deps.httpServer, {
    path: SOCKET_IO_PATH,
    serveClient: false,
    maxHttpBufferSize: MAX_HTTP_BUFFER_SIZE,
    pingInterval: deps.pingIntervalMs,
    pingTimeout: deps.pingTimeoutMs,
    // Connection-state recovery would replay missed packets from memory of one node only.
    connectionStateRecovery: undefined,
  });
  io.adapter(deps.adapter);
  const { replicaHeader } = deps;
  if (replicaHeader !== undefined) {
    // Every polling answer and the WebSocket upgrade: Express's request context never sees them.
    io.engine.on('headers', (headers: Record<string, string>) => {
      headers['X-Concord-Replica'] = replicaHeader;
    });
  }
  let draining = false;
  let subscriptions = 0;
  const expiry = new Map<string, NodeJS.Timeout>();

  function cut(socket: RealtimeSocket, code: 'UNAUTHORIZED' | 'RATE_LIMITED', detail: string): void {
    socket.emit('connection:closing', new AppError(code, detail).toPayload());
    socket.disconnect(true);
  }

  function scheduleExpiry(socket: RealtimeSocket): void {
    clearTimeout(expiry.get(socket.id));
    const delay = Math.max(0, socket.data.exp * 1000 - clock.now());
    const timer = setTimeout(() => {
      logger.info({ user_id: socket.data.userId }, 'socket cut: access token expired');
      cut(socket, 'UNAUTHORIZED', 'The access token has expired; reconnect with a fresh one');
    }, delay);
    timer.unref();
    expiry.set(socket.id, timer);
  }

  io.use(
    handshakeMiddleware({
      authenticator: deps.authenticator,
      resolveClientIp: deps.resolveClientIp,
      presence: deps.presence,
      maxSocketsPerUser: deps.maxSocketsPerUser,
      clock,
      logger,
      isDraining: () => draining,
    }),
  );

  io.on('connection', (socket) => {
    const { userId, sid } = socket.data;
    logger.debug({ user_id: userId, client_ip: socket.data.clientIp }, 'socket connected');
    Promise.resolve(socket.join([userRoom(userId), sessionRoom(sid)])).catch((err: unknown) =>
      logger.error({ err }, 'joining the user and session rooms failed'),
    );
    scheduleExpiry(socket);
    attachSocketHandlers(socket, {
      authenticator: deps.authenticator,
      presence: deps.presenceStore,
      limits: deps.limits,
      clock,
      logger,
      onDenied: (reason) => deps.onDenied?.(reason),
      onFlood: () => deps.onFlood?.(),
      onSubscriptionsChanged: (delta) => {
        subscriptions += delta;
      },
      cut,
      rescheduleExpiry: scheduleExpiry,
    });
    socket.on('disconnect', () => {
      clearTimeout(expiry.get(socket.id));
      expiry.delete(socket.id);
      subscriptions -= socket.data.channels.size;
      // While draining, entries stay until the node deregisters: the clients are reconnecting to
      // other nodes meanwhile, so their users never flicker offline.
      if (draining) return;
      deps.presence
        .untrack(socket.id)
        .catch((err: unknown) => logger.warn({ err }, 'presence release failed'));
    });
  });

  const localSockets = () => io.of('/').sockets;

  return {
    io,
    publish(room, message) {
      io.to(room).emit('message', message);
    },
    emitSettingsChanged(event) {
      io.local.to('ch:settings').emit('settings.changed', event);
    },
    emitPresence(transition) {
      const event: PresenceEvent = { user_id: transition.user_id };
      io.local.to('ch:presence').emit(transition.type === 'join' ? 'presence:join' : 'presence:leave', event);
    },
    cutSessions(sids) {
      let cutCount = 0;
      const rooms = io.of('/').adapter.rooms;
      for (const sid of sids) {
        const members = rooms.get(sessionRoom(sid));
        if (!members) continue;
        for (const id of [...members]) {
          const socket = localSockets().get(id);
          if (!socket) continue;
          socket.emit('session:revoked', { reason: 'session_revoked' });
          socket.disconnect(true);
          cutCount += 1;
        }
      }
      if (cutCount > 0) logger.info({ sockets: cutCount }, 'sockets of revoked sessions disconnected');
      return cutCount;
    },
    sockets: () => localSockets().size,
    subscriptions: () => subscriptions,
    drain() {
      draining = true;
      for (const socket of localSockets().values()) socket.conn.close();
    },
    async close() {
      for (const timer of expiry.values()) clearTimeout(timer);
      expiry.clear();
      await io.close();
    },
  };
}
