import type { Role } from '@concord/common';
import type { SessionPolicy, SessionRecord } from './auth.model';
import type { AccessTokenIssuer } from './auth.ports';

/** Tokens handed out by login and refresh. */
export interface TokenGrant {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  session: SessionRecord;
}

/** Issues the access token of a login or refresh and shapes the grant. */
export function createGranter(deps: { issuer: AccessTokenIssuer; policy: SessionPolicy }) {
  const { issuer, policy } = deps;
  return {
    async grant(session: SessionRecord, role: Role, refreshToken: string, at: Date): Promise<TokenGrant> {
      const absoluteLeft = Math.floor((session.expiresAt.getTime() - at.getTime()) / 1000);
      // No access token outlives its session's absolute lifetime.
      const ttl = Math.max(1, Math.min(policy.accessTtlSeconds, absoluteLeft));
      const accessToken = await issuer.issue(
        { sub: session.userId, sid: session.id, role, username: session.username },
        at,
        ttl,
      );
      return {
        accessToken,
        expiresIn: ttl,
        refreshToken,
        refreshExpiresIn: Math.max(0, Math.min(policy.idleTimeoutSeconds, absoluteLeft)),
        session,
      };
    },

    accessExpiry(at: Date, session?: { expiresAt: Date }): Date {
      const exp = new Date(at.getTime() + policy.accessTtlSeconds * 1000);
      return session && session.expiresAt < exp ? session.expiresAt : exp;
    },
  };
}
