import { z } from 'zod';

/**
 * Wire contract of revocation propagation (DESIGN.md section 4), shared by the publisher in
 * auth-service and the cache in every process. All names carry `REDIS_PREFIX` and the hash tag
 * `{revocation}`: on Redis Cluster the snapshot, epoch, registry and its birth marker live (and are
 * lost) on one shard together, and the scripts that touch several of them stay single-slot.
 * Renaming any of them is a rolling-upgrade break (docs/operations.md).
 */
export interface RevocationKeys {
  /** Pub/sub channel: revocations, heartbeats and epoch announcements, in publish order. */
  channel: string;
  /** Pub/sub channel on which replicas acknowledge applied revocations. */
  ackChannel: string;
  /** Sorted set `sid` → access-token `exp` (unix seconds): the snapshot. */
  snapshot: string;
  /** String: id of the current snapshot generation, created (NX) after a complete seed. */
  epoch: string;
  /** Sorted set `replicaId` → registration expiry (unix ms, the registrant's clock). */
  replicas: string;
  /**
   * String: Redis `TIME` (ms) at which the registry was first written since Redis last lost its
   * data (restart, FLUSHALL). Created NX by every registration, so it is as old as the registry.
   */
  registryBorn: string;
  /** Prefix of the per-seed markers that detect a flush in the middle of a seed. */
  seedMarker: string;
}

/** Key and channel names under `prefix`. */
export function revocationKeys(prefix: string): RevocationKeys {
  const tag = `${prefix}{revocation}`;
  return {
    channel: `${tag}:messages`,
    ackChannel: `${tag}:acks`,
    snapshot: `${tag}:snapshot`,
    epoch: `${tag}:epoch`,
    replicas: `${tag}:replicas`,
    registryBorn: `${tag}:replicas:born`,
    seedMarker: `${tag}:seeding:`,
  };
}

const entrySchema = z.object({ sid: z.string().min(1), exp: z.number() });

/** One revoked session and the latest access-token expiry issued for it. */
export type RevocationEntry = z.infer<typeof entrySchema>;

/** Revocation entries as stored in an outbox payload or a message (validated on the way in). */
export const revocationEntriesSchema = z.array(entrySchema);

const messageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('revoke'),
    id: z.string(),
    sent_at: z.number(),
    entries: revocationEntriesSchema,
  }),
  z.object({ type: z.literal('heartbeat'), sent_at: z.number(), epoch: z.string() }),
  z.object({ type: z.literal('epoch'), sent_at: z.number(), epoch: z.string() }),
]);

/** Messages on {@link RevocationKeys.channel}; `sent_at` is the publisher's wall clock in ms. */
export type RevocationMessage = z.infer<typeof messageSchema>;

const ackSchema = z.object({ id: z.string(), replica: z.string() });

/** Message on {@link RevocationKeys.ackChannel}. */
export type RevocationAck = z.infer<typeof ackSchema>;

/**
 * A replica's registration lives one lease (the minimum DESIGN.md allows) and is refreshed every quarter
 * lease: a replica that dies without deregistering delays revokes by at most one lease, and for at
 * most one lease.
 */
export const REGISTRATION_TTL_LEASES = 1;

function parseJson<T>(schema: z.ZodType<T>, text: string): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Parses a channel message; undefined when it is not one of ours (never trusted blindly). */
export function parseRevocationMessage(text: string): RevocationMessage | undefined {
  return parseJson(messageSchema, text);
}

/** Parses an acknowledgement; undefined when it is not one. */
export function parseRevocationAck(text: string): RevocationAck | undefined {
  return parseJson(ackSchema, text);
}
