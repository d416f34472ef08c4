/**
 * Wire contract of revocation propagation (DESIGN.md section 4), shared by the publisher in
 * auth-service and the cache in every process. All names carry `REDIS_PREFIX`.
 */
export interface RevocationKeys {
  /** Pub/sub channel: revocations, heartbeats and epoch announcements, in publish order. */
  channel: string;
  /** Pub/sub channel on which replicas acknowledge applied revocations. */
  ackChannel: string;
  /** Sorted set `sid` → access-token `exp` (unix seconds): the snapshot. */
  snapshot: string;
  /** String: id of the current snapshot generation, written after every (re-)seed. */
  epoch: string;
  /** Sorted set `replicaId` → registration expiry (unix ms). */
  replicas: string;
}

/** Key and channel names under `prefix`. */
export function revocationKeys(prefix: string): RevocationKeys {
  return {
    channel: `${prefix}revocations`,
    ackChannel: `${prefix}revocations:acks`,
    snapshot: `${prefix}revocations:snapshot`,
    epoch: `${prefix}revocations:epoch`,
    replicas: `${prefix}revocations:replicas`,
  };
}

/** One revoked session and the latest access-token expiry issued for it. */
export interface RevocationEntry {
  sid: string;
  /** Unix seconds. */
  exp: number;
}

/** Messages on {@link RevocationKeys.channel}; `sent_at` is the publisher's wall clock in ms. */
export type RevocationMessage =
  | { type: 'revoke'; id: string; sent_at: number; entries: RevocationEntry[] }
  | { type: 'heartbeat'; sent_at: number; epoch: string }
  | { type: 'epoch'; sent_at: number; epoch: string };

/** Message on {@link RevocationKeys.ackChannel}. */
export interface RevocationAck {
  id: string;
  replica: string;
}

/**
 * A replica's registration lives one lease (the minimum DESIGN.md allows) and is refreshed every quarter
 * lease: a replica that dies without deregistering delays revokes by at most one lease, and for at
 * most one lease.
 */
export const REGISTRATION_TTL_LEASES = 1;

/** Parses a channel message; undefined when it is not one of ours (never trusted blindly). */
export function parseRevocationMessage(text: string): RevocationMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const msg = value as Record<string, unknown>;
  if (typeof msg.sent_at !== 'number' || !Number.isFinite(msg.sent_at)) return undefined;
  if ((msg.type === 'heartbeat' || msg.type === 'epoch') && typeof msg.epoch === 'string') {
    return msg as RevocationMessage;
  }
  if (msg.type === 'revoke' && typeof msg.id === 'string' && Array.isArray(msg.entries)) {
    const ok = msg.entries.every(
      (e: unknown) =>
        typeof e === 'object' &&
        e !== null &&
        typeof (e as RevocationEntry).sid === 'string' &&
        typeof (e as RevocationEntry).exp === 'number' &&
        Number.isFinite((e as RevocationEntry).exp),
    );
    return ok ? (msg as RevocationMessage) : undefined;
  }
  return undefined;
}
