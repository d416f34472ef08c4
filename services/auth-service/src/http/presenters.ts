import type { SessionRecord, UserRecord } from '../domain/auth.model';
import type { TokenGrant } from '../domain/auth.service';

/** A session item of DESIGN.md section 4. */
export function presentSession(s: SessionRecord, currentSid: string | undefined, idleTimeoutSeconds: number) {
  const idleExpiry = s.lastActiveAt.getTime() + idleTimeoutSeconds * 1000;
  return {
    session_id: s.id,
    user_id: s.userId,
    username: s.username,
    ip_address: s.ipAddress,
    user_agent: s.userAgent,
    created_at: s.createdAt.toISOString(),
    last_active_at: s.lastActiveAt.toISOString(),
    // The earlier of the absolute lifetime and the idle timeout: when it really ends if unused.
    expires_at: new Date(Math.min(s.expiresAt.getTime(), idleExpiry)).toISOString(),
    is_current: s.id === currentSid,
  };
}

/** A user as the admin API shows it (never the hash). */
export function presentUser(u: UserRecord) {
  return { id: u.id, username: u.username, role: u.role, created_at: u.createdAt.toISOString() };
}

/** Login/refresh answer. */
export function presentGrant(grant: TokenGrant, idleTimeoutSeconds: number) {
  return {
    access_token: grant.accessToken,
    token_type: 'Bearer',
    expires_in: grant.expiresIn,
    refresh_token: grant.refreshToken,
    refresh_expires_in: grant.refreshExpiresIn,
    session: presentSession(grant.session, grant.session.id, idleTimeoutSeconds),
  };
}
