/** The Redis side of cluster-wide presence (docs/decisions/011-presence.md), faked in unit tests. */

/** A cluster-wide transition: a user's first socket anywhere (join) or last one gone (leave). */
export interface PresenceTransition {
  type: 'join' | 'leave';
  user_id: string;
}

/** One online user and the sockets connected for them on every node. */
export interface OnlineUser {
  user_id: string;
  connections: number;
}

/** Outcome of reserving a socket's presence entry. */
export type PresenceConnectResult =
  | { status: 'connected'; connections: number }
  /** The user already has the maximum number of sockets in the cluster. */
  | { status: 'full' }
  /** This node is not (or no longer) registered: it must re-assert before adding sockets. */
  | { status: 'unregistered' };

/** Per-node presence bookkeeping in Redis; every method is one atomic script. */
export interface PresenceStore {
  /** Adds `socketId` of `userId` unless the user already has `maxSockets` sockets cluster-wide. */
  connect(input: { socketId: string; userId: string; maxSockets: number }): Promise<PresenceConnectResult>;
  /** Removes `socketId` (idempotent). */
  disconnect(socketId: string): Promise<void>;
  /** Renews this node's registration; false when it was gone (Redis restarted, flushed, or reaped us). */
  heartbeat(): Promise<boolean>;
  /**
   * Registers this node and makes its entries equal to `sockets` (socket id → user id), leaving the
   * entries of `pending` sockets (connects in flight) as they are.
   */
  reassert(input: { sockets: ReadonlyMap<string, string>; pending: readonly string[] }): Promise<void>;
  /** Removes the entries of every node whose registration expired; one caller wins each node. */
  reap(): Promise<number>;
  /** Removes this node and all its entries (graceful shutdown). */
  deregister(): Promise<void>;
  list(): Promise<OnlineUser[]>;
  /** Number of online users (metrics). */
  countUsers(): Promise<number>;
  /** Delivers every transition published by any node's scripts, in Redis order. */
  onTransition(handler: (transition: PresenceTransition) => void): Promise<void>;
}
