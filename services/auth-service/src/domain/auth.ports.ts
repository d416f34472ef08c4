import type { RateLimiter, RevocationEntry, Role } from '@concord/common';
import type { Cursor, Page, RevocationReason, SessionRecord, UserRecord } from './auth.model';

/** A user found for a credential check, and whether the attempt's address is known for them. */
export interface CredentialSubject {
  user: UserRecord;
  /** The address bucket logged in successfully as this user since `knownSince`. */
  knownAddress: boolean;
}

/** Users table. */
export interface UserRepository {
  /** Creates the first ceo only while no user exists (atomic); undefined when one already exists. */
  createFirst(username: string, passwordHash: string): Promise<UserRecord | undefined>;
  /** Throws AppError DUPLICATE_RECORD when the username is taken. */
  create(username: string, passwordHash: string, role: Role): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | undefined>;
  /** The user (by folded username or id) with the known-address verdict, in one round trip. */
  findForCredentialCheck(
    by: { username: string } | { id: string },
    address: string,
    knownSince: Date,
  ): Promise<CredentialSubject | undefined>;
  list(limit: number, after: Cursor | undefined): Promise<Page<UserRecord>>;
  /**
   * The argon2 rehash at login as a compare-and-set: writes `newHash` only while the stored hash is
   * still `oldHash`, so it can never write an old password back over a change. True when written.
   */
  rehash(id: string, oldHash: string, newHash: string): Promise<boolean>;
  /** Forgets known login addresses last used before `before`; returns how many. */
  forgetAddressesBefore(before: Date): Promise<number>;
}

/**
 * Credential changes (docs/decisions/008-security-stamp.md): each one changes the user's security
 * stamp and revokes the sessions it ends in ONE transaction, and returns the revocation to
 * propagate after the commit (SessionRevoker.propagate).
 */
export interface CredentialRepository {
  /**
   * Sets the new hash only while the stamp is still `expectedStamp` (the one of the verified
   * current password); the caller's session gets the new stamp and stays, every other live session
   * is revoked. Undefined when the stamp moved (a concurrent change won) or the user is gone.
   */
  changePassword(input: {
    userId: string;
    expectedStamp: string;
    newHash: string;
    keepSessionId: string;
    now: Date;
    idleTimeoutSeconds: number;
  }): Promise<RevocationCommit | undefined>;
  /**
   * Changes the role, refusing (RESOURCE_CONFLICT) to demote the last ceo, and revokes every live
   * session of the user. Undefined when no such user; an unchanged role changes nothing.
   */
  changeRole(input: {
    userId: string;
    role: Role;
    now: Date;
    idleTimeoutSeconds: number;
  }): Promise<{ user: UserRecord; commit: RevocationCommit } | undefined>;
  /**
   * Revokes every live session of the user except `keepSessionId` (re-stamped, it stays), plus
   * `alsoRevoke` whatever their state. Undefined when no such user.
   */
  revokeAll(input: {
    userId: string;
    keepSessionId?: string;
    alsoRevoke?: string[];
    reason: RevocationReason;
    now: Date;
    idleTimeoutSeconds: number;
  }): Promise<RevocationCommit | undefined>;
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
  /** The address bucket to remember as known for the user once the session is opened. */
  addressBucket: string;
}

/** The credentials a login verified; the session is opened only while they are still current. */
export interface VerifiedCredentials {
  passwordHash: string;
  securityStamp: string;
}

/** Result of {@link SessionRepository.openVerified}. */
export type OpenResult =
  | { kind: 'opened'; session: SessionRecord; role: Role }
  | { kind: 'stale'; current: VerifiedCredentials | undefined };

/** Result of presenting a refresh token. */
export type RotationResult =
  | { kind: 'rotated'; session: SessionRecord; role: Role; generation: number }
  | { kind: 'grace'; session: SessionRecord; role: Role; generation: number }
  | { kind: 'unknown' }
  | { kind: 'inactive'; revoked: boolean }
  | { kind: 'reuse'; sessionId: string };

/** Sessions and refresh tokens. */
export interface SessionRepository {
  /**
   * Opens the session in a transaction that reads the user's hash and stamp `FOR SHARE` and inserts
   * only while both are still `verified` (else `stale`, with what is current): a credential change
   * either commits first (the login sees it) or waits for this commit (and then revokes the new
   * session). Records the address as known for the user in the same transaction.
   */
  openVerified(session: NewSession, verified: VerifiedCredentials): Promise<OpenResult>;
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

/** The failed-login budgets of DESIGN.md section 4 (metric label values). */
export type ThrottleBudget = 'account_address' | 'address' | 'account';

/** One login (or password-change) attempt as the throttle sees it. */
export interface LoginAttempt {
  /** Case-folded; unknown usernames are counted exactly like known ones. */
  username: string;
  /** The client's address bucket (IPv4 as is, IPv6 as its /64). */
  address: string;
  /** Known addresses skip the per-account budget. */
  knownAddress: boolean;
}

/** Why an attempt was refused, and for how long. */
export interface ThrottleRejection {
  budget: ThrottleBudget;
  retryAfterMs: number;
}

/** A slot held in every applicable budget; it stays as the failure record unless released. */
export interface ThrottleReservation {
  id: string;
  attempt: LoginAttempt;
}

/** Failed-login budgets (Redis). */
export interface LoginThrottle {
  /** Reserves a slot in every budget that applies in one atomic step, or says how long to wait. */
  reserve(
    attempt: LoginAttempt,
  ): Promise<
    { admitted: true; reservation: ThrottleReservation } | ({ admitted: false } & ThrottleRejection)
  >;
  /** After a verified success: gives the slots back and clears the username at that address. */
  release(reservation: ThrottleReservation): Promise<void>;
}

/** Fixed-window limiter for /refresh per client address bucket (libs/common's Redis limiter). */
export type { RateLimiter };
