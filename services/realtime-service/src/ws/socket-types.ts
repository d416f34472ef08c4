import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents } from '@concord/client';
import type { Role } from '@concord/common';
import type { Server, Socket } from 'socket.io';

/** What a socket carries after its handshake (server-side only). */
export interface SocketData {
  userId: string;
  sid: string;
  role: Role;
  /** `exp` of the newest token of this session the socket presented (unix seconds). */
  exp: number;
  clientIp: string;
  /** Subscribed shared channels (the own user channel is implicit). */
  channels: Set<string>;
}

/** The realtime Socket.IO server with the shared event maps. */
export type RealtimeIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
/** One server-side socket. */
export type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
