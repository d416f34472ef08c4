/**
 * The Socket.IO contract of realtime-service (DESIGN.md section 6), shared by the server and by
 * {@link RealtimeClient}. The server imports these maps from `@concord/client`, so a change here is
 * checked against both sides at compile time.
 */

/**
 * `{code, error, detail}` of DESIGN.md section 3, as carried by acks and connect errors (`err.data`),
 * plus the members a problem body would carry for the same error (docs/errors.md), e.g.
 * `retry_after_seconds` and `reason` on a 503.
 */
export interface RealtimeErrorPayload {
  code: number;
  error: string;
  detail: string;
  /** Seconds until a retry may succeed (the HTTP answer's `Retry-After`). */
  retry_after_seconds?: number;
  /** Why, in one machine-readable word (e.g. `lease-expired`). */
  reason?: string;
  [member: string]: unknown;
}

/** Answer to `subscribe`, `unsubscribe` and `auth:refresh`. */
export type RealtimeAck = { ok: true } | { ok: false; error: RealtimeErrorPayload };

/** One online user as `presence:list` reports it: sockets connected on every node together. */
export interface PresenceEntry {
  user_id: string;
  connections: number;
}

/** Answer to `presence:list`. */
export type PresenceListAck =
  { ok: true; users: PresenceEntry[] } | { ok: false; error: RealtimeErrorPayload };

/** A published message (`POST /api/v1/realtime/…/messages`). */
export interface RealtimeMessage<T = unknown> {
  channel: string;
  event: string;
  data: T;
  /** UUIDv7 (RFC 9562): sortable by creation time. */
  id: string;
  /** ISO-8601. */
  ts: string;
}

/** `settings.changed` as settings-service publishes it (DESIGN.md section 5); sensitive values arrive masked. */
export interface SettingsChangedEvent {
  namespace: string;
  key: string;
  value: unknown;
  etag: string;
  revision: number;
  updated_by: string | null;
  updated_at: string;
}

/** Presence transitions, once per cluster-wide change (first socket of a user, last socket gone). */
export interface PresenceEvent {
  user_id: string;
}

/** Events a client emits; every one takes an ack. */
export interface ClientToServerEvents {
  /** Joins a channel; a denial is an error ack (1001 forbidden, 2000 invalid name, 5000 cap reached). */
  subscribe(channel: string, ack: (answer: RealtimeAck) => void): void;
  /** Leaves a channel; the own `user:{id}` channel cannot be left (1001). */
  unsubscribe(channel: string, ack: (answer: RealtimeAck) => void): void;
  /** Lists the users online anywhere in the cluster. */
  'presence:list'(ack: (answer: PresenceListAck) => void): void;
  /** A fresh access token of the same session extends the socket's life past the old token's `exp`. */
  'auth:refresh'(token: string, ack: (answer: RealtimeAck) => void): void;
}

/** Events the server emits. */
export interface ServerToClientEvents {
  message(message: RealtimeMessage): void;
  'presence:join'(event: PresenceEvent): void;
  'presence:leave'(event: PresenceEvent): void;
  'settings.changed'(event: SettingsChangedEvent): void;
  /** Sent just before the server disconnects the sockets of a revoked session. */
  'session:revoked'(event: { reason: string }): void;
  /**
   * Sent just before the server cuts this socket for another reason: 1000 when the access token
   * expired without `auth:refresh`, 5000 after an event flood.
   */
  'connection:closing'(event: RealtimeErrorPayload): void;
}

/** Events between realtime nodes through the adapter: none (presence and events use Redis channels). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}
