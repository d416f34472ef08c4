import type { RevocationEntry, Role } from '@concord/common';
import type { Cursor, Page, RevocationReason, SessionRecord, UserRecord } from './auth.model';

/** Users table. */
export interface UserRepository {
  /** Creates the first ceo only while no user exists (atomic); undefined when one already exists. */
  createFirst(username: string, passwordHash: string): Promise<UserRecord | undefined>;
  /** Throws AppError DUPLICATE_RECORD when the username is taken. */
  create(username: string, passwordHash: string, role: Role): Promise<UserRecord>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  list(limit: number, after: Cursor | undefined): Promise<Page<UserRecord>>;
  updatePasswordHash(id: string, passwordHash: string, changed: boolean): Promise<void>;
  /** Changes a role; refuses (RESOURCE_CONFLICT) to demote the last ceo. Undefined when no such user. */
  changeRole(id: string, role: Role): Promise<UserRecord | undefined>;
}

/** A new session with its first refresh token. */
export interface NewSession {
  id: string;
  userId: string;
  ipAddress: string;
  userAgent: string | null;
  now: Date;
  expiresAt: Date;
  accessExpiresAt: Date;
  refreshTokenHash: Buffer;
}

/** Result of presenting a refresh token. */
export type RotationResult =
  | { kind: 'rotated'; session: SessionRecord; role: Role; generation: number }
  | { kind: 'grace'; session: SessionRecord; role: Role; generation: number }
  | { kind: 'unknown' }
  | { kind: 'inactive'; revoked: boolean }
  | { kind: 'reuse'; sessionId: string };

/** Sessions and refresh tokens. */
export interface SessionRepository {
  create(session: NewSession): Promise<SessionRecord>;
  /**
   * Consumes `tokenHash` and stores `childHash` as the next generation in one transaction, or tells
   * why not. A token consumed less than `graceSeconds` ago whose child is still the newest answers
   * `grace` (the caller re-derives the same child).
   */
  rotate(input: {
    tokenHash: Buffer;
    childHash: Buffer;
    now: Date;
    idleTimeoutSeconds: number;
    graceSeconds: number;
    accessExpiresAt: Date;
  }): Promise<RotationResult>;
  /** Session id of a refresh token, consumed or not. */
  findSessionIdByRefreshHash(tokenHash: Buffer): Promise<string | undefined>;
  /** A session in any state (active, revoked or expired); undefined once it was purged or never existed. */
  findById(id: string): Promise<SessionRecord | undefined>;
  findActive(id: string, now: Date, idleTimeoutSeconds: number): Promise<SessionRecord | undefined>;
  listActive(
    filter: { userId?: string },
    now: Date,
    idleTimeoutSeconds: number,
    limit: number,
    after: Cursor | undefined,
  ): Promise<Page<SessionRecord>>;
  /** Ids of a user's active sessions, optionally excluding one. */
  activeIdsOfUser(
    userId: string,
    now: Date,
    idleTimeoutSeconds: number,
    exceptId?: string,
  ): Promise<string[]>;
  /**
   * Marks sessions revoked (idempotent) in its own transaction and returns what must be propagated.
   * Repositories that revoke sessions as part of a larger change (password, role, revoke-all) commit
   * the same way inside their own transaction and return a {@link RevocationCommit} too.
   */
  revoke(ids: string[], reason: RevocationReason, now: Date): Promise<RevocationCommit>;
  /** Revoked sessions whose access tokens may still be alive (the re-seed source). */
  revokedSince(minAccessExpiry: Date): Promise<RevocationEntry[]>;
  /**
   * Deletes sessions revoked or ended before `before`, never one whose access token may still be
   * alive at `now`.
   */
  purge(before: Date, idleTimeoutSeconds: number, now: Date): Promise<number>;
}

/**
 * A committed revocation: for every targeted session that is revoked now, the latest access-token
 * expiry to publish; `newlyRevoked` counts those this commit revoked; `outboxIds` are the outbox rows
 * written in the same transaction, which the relay delivers if {@link RevocationPublisher.send}
 * cannot (DESIGN.md "A committed revoke always arrives").
 */
export interface RevocationCommit {
  entries: RevocationEntry[];
  newlyRevoked: number;
  outboxIds: string[];
  reason?: RevocationReason;
}

/** How a published revoke came to be answered. */
export interface RevocationAckOutcome {
  /** `acks`: every registered replica acknowledged; `lease`: lease + skew elapsed; `stopped`: shutdown. */
  by: 'acks' | 'lease' | 'stopped';
  /** Registered replicas that did not acknowledge. */
  missing: string[];
  /** The registry was younger than a lease (Redis lost its data recently), so the lease was waited out. */
  youngRegistry: boolean;
  waitedMs: number;
}

/** A revoke that reached Redis (snapshot written, message published). */
export interface RevocationSent {
  /** Settles once every replica applied it or the lease elapsed; never rejects. */
  acknowledged: Promise<RevocationAckOutcome>;
}

/** Publishes revocations to every replica. */
export interface RevocationPublisher {
  /** Writes the snapshot and publishes in one step; rejects when Redis refused or failed. */
  send(entries: RevocationEntry[]): Promise<RevocationSent>;
  /** The same without waiting for acknowledgements (the outbox relay: nobody is waiting). */
  deliver(entries: RevocationEntry[]): Promise<void>;
}

/** The outbox rows of committed revocations. */
export interface RevocationOutbox {
  /** Marks rows delivered by the request that committed them (rows a relay holds are left to it). */
  markDelivered(ids: string[]): Promise<void>;
  /** Has the relay attempt undelivered rows soon (the request could not publish them). */
  deliverLater(): void;
}

/** Signs access tokens. */
export interface AccessTokenIssuer {
  issue(
    claims: { sub: string; sid: string; role: Role; username: string },
    now: Date,
    ttlSeconds: number,
  ): Promise<string>;
}

/** Password hashing (argon2id). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `needsRehash` when the stored parameters differ from the configured ones. */
  verify(hash: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }>;
  /** Burns the same work as a real verification (unknown usernames). */
  verifyDummy(password: string): Promise<void>;
}

/** Failed-login bookkeeping (Redis). */
export interface LoginThrottle {
  /** Seconds to wait before another attempt is allowed, 0 when allowed. */
  retryAfter(username: string, ip: string): Promise<number>;
  recordFailure(username: string, ip: string): Promise<void>;
  recordSuccess(username: string): Promise<void>;
}

/** Fixed-window limiter for /refresh. */
export interface RateLimiter {
  /** Seconds until allowed again, 0 when this hit is allowed. */
  hit(key: string): Promise<number>;
}
