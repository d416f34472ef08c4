import type { Role } from '@concord/common';

/** A stored user (the hash never leaves data-access/domain). */
export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  createdAt: Date;
  passwordChangedAt: Date;
  /** Changes with every password change, role change and revoke-all (decision 008). */
  securityStamp: string;
}

/** A stored session joined with its user's name. */
export interface SessionRecord {
  id: string;
  userId: string;
  username: string;
  ipAddress: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastActiveAt: Date;
  expiresAt: Date;
  accessExpiresAt: Date;
  revokedAt: Date | null;
}

/** Why a session was revoked (kept for audit). */
export type RevocationReason =
  | 'logout'
  | 'logout_others'
  | 'logout_global'
  | 'revoked_by_user'
  | 'revoked_by_admin'
  | 'token_revocation'
  | 'refresh_token_reuse'
  | 'password_change'
  | 'role_change'
  /** Ended by the restore fixup: the session came from a restored backup (decision 017). */
  | 'restore';

/** A page of a list endpoint (libs/common's keyset page). */
export type { Page } from '@concord/common';

/** Keyset position of a list (opaque to clients). */
export interface Cursor {
  createdAt: Date;
  id: string;
}

/** Session timing policy, from config and the live settings. */
export interface SessionPolicy {
  /**
   * The access-token lifetime now (`jwt_expiry_minutes`, live). Read once per grant: the lifetime
   * recorded for the session (the revocation entry's `exp`) must be the one of the token issued.
   */
  accessTtlSeconds: () => number;
  idleTimeoutSeconds: number;
  absoluteLifetimeSeconds: number;
  refreshGraceSeconds: number;
}
