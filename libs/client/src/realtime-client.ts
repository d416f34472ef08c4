import http from 'node:http';
import https from 'node:https';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  ClientToServerEvents,
  PresenceListAck,
  RealtimeAck,
  RealtimeErrorPayload,
  ServerToClientEvents,
} from './realtime-events';

/** The typed Socket.IO socket of realtime-service. */
export type RealtimeSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Options of {@link connectRealtime}. */
export interface RealtimeClientOptions {
  /** Origin of the gateway or of one replica, e.g. `https://localhost:8443`. */
  url: string;
  /** Access token sent in the handshake (`auth: {token}`) and on every reconnect until refreshed. */
  token: string;
  /** PEM of the CA to trust (the local stack's `.run/tls/ca.crt`). */
  ca?: string | Buffer;
  /** Source address to connect from: tests act as distinct clients (127.0.0.x). */
  localAddress?: string;
  /** Extra handshake headers (Node only). */
  extraHeaders?: Record<string, string>;
  /** Default `['websocket']`; add `'polling'` where WebSocket may be blocked. */
  transports?: ('websocket' | 'polling')[];
  /** How long an ack may take before the call rejects (default 10 s). */
  ackTimeoutMs?: number;
  /** Anything else socket.io-client accepts (reconnection delays, …). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** A refused handshake: `data` is the server's `{code, error, detail}` (DESIGN.md section 3). */
export class RealtimeConnectError extends Error {
  constructor(
    message: string,
    readonly data: RealtimeErrorPayload | undefined,
  ) {
    super(message);
    this.name = 'RealtimeConnectError';
  }
}

function connectErrorData(err: Error): RealtimeErrorPayload | undefined {
  const data = (err as Error & { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return undefined;
  const { code, error, detail, ...members } = data as Record<string, unknown>;
  return typeof code === 'number' && typeof error === 'string' && typeof detail === 'string'
    ? { ...members, code, error, detail }
    : undefined;
}

/**
 * Typed client of realtime-service. It reconnects by itself after a transport loss (a node's
 * SIGTERM included) and always hands the newest token to the handshake: {@link RealtimeClient.refresh}
 * replaces it for the live socket (`auth:refresh`) and for every later reconnect.
 *
 * @example
 * ```ts
 * const rt = connectRealtime({ url: 'https://localhost:8443', token: tokens.access_token });
 * await rt.connected();
 * rt.on('message', (m) => console.log(m.channel, m.event, m.data));
 * const ack = await rt.subscribe('announcements');
 * if (!ack.ok) console.error(ack.error.code, ack.error.detail);
 * // before the access token expires:
 * await rt.refresh((await http.refresh()).access_token);
 * ```
 */
export class RealtimeClient {
  /** The underlying typed socket (for listeners this class does not wrap). */
  readonly socket: RealtimeSocket;
  private token: string;
  private readonly ackTimeoutMs: number;

  constructor(options: RealtimeClientOptions) {
    this.token = options.token;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    // engine.io-client hands `localAddress` to the WebSocket transport only; long-polling requests
    // would leave from the default address (and a gateway hashing on it would see another client)
    // unless an agent bound to the address carries them. No keep-alive: after `close()` the last
    // packet still goes out, and no idle connection outlives the client (holding the server open).
    const agent = options.localAddress
      ? new (options.url.startsWith('https:') ? https.Agent : http.Agent)({
          keepAlive: false,
          localAddress: options.localAddress,
          ...(options.ca ? { ca: options.ca } : {}),
        })
      : undefined;
    this.socket = io(options.url, {
      transports: options.transports ?? ['websocket'],
      // A function, not an object: socket.io-client calls it on every (re)connect, so a reconnect
      // after a refresh presents the new token instead of the expired one.
      auth: (cb) => cb({ token: this.token }),
      ca: options.ca,
      extraHeaders: options.extraHeaders,
      ...(options.localAddress ? { localAddress: options.localAddress, agent } : {}),
      ...options.socketOptions,
    } as Partial<ManagerOptions & SocketOptions>);
  }

  /** The token the next handshake will present. */
  get currentToken(): string {
    return this.token;
  }

  /**
   * Resolves once connected; rejects with {@link RealtimeConnectError} (carrying the server's
   * `{code, error, detail}`) when the handshake is refused.
   */
  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        this.socket.off('connect_error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        this.socket.off('connect', onConnect);
        reject(new RealtimeConnectError(err.message, connectErrorData(err)));
      };
      this.socket.once('connect', onConnect);
      this.socket.once('connect_error', onError);
    });
  }

  /** Joins `channel`; resolves with the ack, `{ok: false, error}` when denied. */
  subscribe(channel: string): Promise<RealtimeAck> {
    return this.socket.timeout(this.ackTimeoutMs).emitWithAck('subscribe', channel);
  }

  /** Leaves `channel`. */
  unsubscribe(channel: string): Promise<RealtimeAck> {
    return this.socket.timeout(this.ackTimeoutMs).emitWithAck('unsubscribe', channel);
  }

  /** The users online anywhere in the cluster, with their connection counts. */
  presence(): Promise<PresenceListAck> {
    return this.socket.timeout(this.ackTimeoutMs).emitWithAck('presence:list');
  }

  /**
   * Hands a fresh access token of the same session to the server (which then keeps the socket past
   * the old token's `exp`) and to every later reconnect. A token of another session is refused and
   * changes nothing.
   */
  async refresh(token: string): Promise<RealtimeAck> {
    const ack = await this.socket.timeout(this.ackTimeoutMs).emitWithAck('auth:refresh', token);
    if (ack.ok) this.token = token;
    return ack;
  }

  /** Typed listener of a server event. */
  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): this {
    this.socket.on(event, listener as never);
    return this;
  }

  /** Disconnects for good (no reconnect). */
  close(): void {
    this.socket.disconnect();
  }
}

/**
 * Opens a {@link RealtimeClient}.
 *
 * @example
 * ```ts
 * const rt = connectRealtime({ url: 'http://127.0.0.1:4301', token, transports: ['websocket'] });
 * await rt.connected();
 * ```
 */
export function connectRealtime(options: RealtimeClientOptions): RealtimeClient {
  return new RealtimeClient(options);
}
