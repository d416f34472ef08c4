import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

/**
 * Lifecycle of the access-token signing keys (docs/decisions/004-signing-keys.md). Everything here
 * is a pure function of the key list and the time, except key generation (the RNG); reading and
 * writing the key file is data-access's job.
 */

/** `next`: published, not signing. `active`: published, the newest signs. `retired`: neither. */
export type KeyStatus = 'next' | 'active' | 'retired';

/** One entry of the key file: a private Ed25519 JWK plus its lifecycle. */
export interface SigningKeyRecord {
  kty: 'OKP';
  crv: 'Ed25519';
  /** Public key, base64url. */
  x: string;
  /** Private key, base64url. Never published, logged or printed. */
  d: string;
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key. */
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
  status: KeyStatus;
  /** ISO-8601. */
  created_at: string;
  activated_at?: string;
  retired_at?: string;
}

/** Contents of `JWT_KEYS_FILE`. */
export interface KeyFile {
  keys: SigningKeyRecord[];
}

/** How long verifiers cache the JWKS (jose `createRemoteJWKSet` default `cacheMaxAge`). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;

/** A `next` key must be published this long before it signs: one JWKS cache lifetime plus margin. */
export const DEFAULT_MIN_NEXT_AGE_MS = JWKS_CACHE_MAX_AGE_MS + 60_000;

/** An operation that would leave the key set unusable, or one asked for too early. */
export class KeyRotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRotationError';
  }
}

function time(key: SigningKeyRecord, field: 'created_at' | 'activated_at' | 'retired_at'): number {
  const value = key[field];
  const ms = value === undefined ? Number.NaN : Date.parse(value);
  if (Number.isNaN(ms)) throw new KeyRotationError(`key ${key.kid} (${key.status}) has no valid ${field}`);
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Checks the invariants every key set must hold: unique kids, at least one active key, at most one
 * next key, and the dates each status implies. Throws a {@link KeyRotationError} naming the problem.
 */
export function assertValidKeySet(keys: readonly SigningKeyRecord[]): void {
  const kids = new Set<string>();
  for (const key of keys) {
    if (kids.has(key.kid)) throw new KeyRotationError(`duplicate kid ${key.kid}`);
    kids.add(key.kid);
    time(key, 'created_at');
    if (key.status !== 'next') time(key, 'activated_at');
    if (key.status === 'retired') time(key, 'retired_at');
  }
  const next = keys.filter((k) => k.status === 'next');
  if (next.length > 1) {
    throw new KeyRotationError(
      `${next.length} next keys (${next.map((k) => k.kid).join(', ')}); at most one is allowed`,
    );
  }
  if (!keys.some((k) => k.status === 'active')) throw new KeyRotationError('no active key: nothing can sign');
}

/** Generates a fresh Ed25519 key in the given status; its kid is the RFC 7638 thumbprint. */
export async function generateSigningKey(status: 'next' | 'active', now: Date): Promise<SigningKeyRecord> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !jwk.d) {
    throw new Error('the runtime did not produce an Ed25519 private JWK');
  }
  const record: SigningKeyRecord = {
    kty: 'OKP',
    crv: 'Ed25519',
    x: jwk.x,
    d: jwk.d,
    kid: await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }),
    alg: 'EdDSA',
    use: 'sig',
    status,
    created_at: iso(now.getTime()),
  };
  if (status === 'active') record.activated_at = record.created_at;
  return record;
}

/**
 * The first key set: one `active` key (signs at once: no verifier can have cached an older set) and
 * one `next` key, so the first rotation does not have to wait for a fresh key to be published.
 */
export async function planInit(now: Date): Promise<KeyFile> {
  return { keys: [await generateSigningKey('active', now), await generateSigningKey('next', now)] };
}

/**
 * Makes the `next` key `active`. Refused while it is younger than `minNextAgeMs`: a verifier whose
 * cached JWKS predates the key would refuse every token it signs. Older active keys stay active (and
 * published) so the tokens they signed keep verifying; {@link retire} removes them later. The caller
 * adds a fresh `next` key.
 */
export function promote(
  keys: readonly SigningKeyRecord[],
  now: Date,
  minNextAgeMs: number = DEFAULT_MIN_NEXT_AGE_MS,
): SigningKeyRecord[] {
  assertValidKeySet(keys);
  const next = keys.find((k) => k.status === 'next');
  if (!next)
    throw new KeyRotationError('there is no next key to promote; add one and wait before promoting it');
  const readyAt = time(next, 'created_at') + minNextAgeMs;
  if (now.getTime() < readyAt) {
    throw new KeyRotationError(
      `next key ${next.kid} was created at ${next.created_at}; verifiers may not have it in their cached JWKS ` +
        `yet, so it can be promoted from ${iso(readyAt)}`,
    );
  }
  const activatedAt = iso(now.getTime());
  return keys.map((k) => (k === next ? { ...k, status: 'active', activated_at: activatedAt } : { ...k }));
}

/**
 * Retires every active key but the newest once the newest has been active for `maxTokenAgeMs`: by
 * then every token the older keys signed has expired. Refused when that time has not come; returns
 * the keys unchanged when there is nothing to retire. No default: the safe age is the longest a
 * verifier accepts a token (`JWT_MAX_ACCESS_TTL_SECONDS` plus the clock tolerance), which is
 * configuration (the CLI reads it).
 */
export function retire(
  keys: readonly SigningKeyRecord[],
  now: Date,
  maxTokenAgeMs: number,
): SigningKeyRecord[] {
  const newest = signingKey(keys);
  const older = keys.filter((k) => k.status === 'active' && k !== newest);
  if (older.length === 0) return keys.map((k) => ({ ...k }));
  const safeAt = time(newest, 'activated_at') + maxTokenAgeMs;
  if (now.getTime() < safeAt) {
    throw new KeyRotationError(
      `tokens signed by ${older.map((k) => k.kid).join(', ')} may be valid until ${iso(safeAt)} ` +
        `(${newest.kid} became active at ${newest.activated_at}); retire after that`,
    );
  }
  const retiredAt = iso(now.getTime());
  return keys.map((k) => (older.includes(k) ? { ...k, status: 'retired', retired_at: retiredAt } : { ...k }));
}

/** The key that signs: the active key activated last (ties broken by kid, so every replica agrees). */
export function signingKey(keys: readonly SigningKeyRecord[]): SigningKeyRecord {
  assertValidKeySet(keys);
  const active = keys.filter((k) => k.status === 'active');
  active.sort((a, b) => time(b, 'activated_at') - time(a, 'activated_at') || (a.kid < b.kid ? -1 : 1));
  return active[0]!;
}

/** The keys verifiers must know: `next` (about to sign) and `active` (signing, or signed recently). */
export function publishedKeys(keys: readonly SigningKeyRecord[]): SigningKeyRecord[] {
  return keys.filter((k) => k.status === 'next' || k.status === 'active');
}
