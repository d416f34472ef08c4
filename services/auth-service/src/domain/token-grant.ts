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
    /**
     * The lifetime of the next token, read once: pass it to both {@link accessExpiry} and
     * {@link grant}, or a live change between the two would record an `exp` earlier than the
     * token's, and its revocation entry would be pruned while the token is still valid.
     */
    lifetime(): number {
      return policy.accessTtlSeconds();
    },

    async grant(grant: {
      session: SessionRecord;
      role: Role;
      refreshToken: string;
      at: Date;
      lifetimeSeconds: number;
    }): Promise<TokenGrant> {
      const { session, role, refreshToken, at } = grant;
      const absoluteLeft = Math.floor((session.expiresAt.getTime() - at.getTime()) / 1000);
      // No access token outlives its session's absolute lifetime.
      const ttl = Math.max(1, Math.min(grant.lifetimeSeconds, absoluteLeft));
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

    accessExpiry(at: Date, lifetimeSeconds: number, session?: { expiresAt: Date }): Date {
      const exp = new Date(at.getTime() + lifetimeSeconds * 1000);
      return session && session.expiresAt < exp ? session.expiresAt : exp;
    },
  };
}
