import { createHash, createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'crt_';

/** A new opaque refresh token: 256 random bits. */
export function newRefreshToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/**
 * The child of a refresh token, derived deterministically (HMAC with the shared secret) so that a
 * duplicate presentation within the grace window receives exactly the same child, on any replica,
 * without storing the child in clear.
 */
export function deriveChildToken(secret: string, parent: string): string {
  return PREFIX + createHmac('sha256', secret).update(`concord-refresh-child:${parent}`).digest('base64url');
}

/** What is stored: SHA-256 of the token (tokens have 256 bits of entropy, so no salt or KDF needed). */
export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Cheap shape check before any I/O. */
export function looksLikeRefreshToken(token: string): boolean {
  return /^crt_[A-Za-z0-9_-]{43}$/.test(token);
}
