import { createHmac, createPublicKey, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError } from '../errors/app-error';
import type { Clock } from '../ops/clock';
import { bearerToken, createAuthenticator } from './authenticator';
import { createRemoteKeySet } from './remote-key-set';
import type { RevocationCache } from './revocation-cache';
import {
  createTokenVerifier,
  MAX_TOKEN_BYTES,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './token-verifier';

const ISSUER = 'https://auth.test';
const AUDIENCE = 'concord';
const KID = 'key-1';
const START_MS = 1_800_000_000_000;
const TOLERANCE_S = 60;
const MAX_LIFETIME_S = 3600;

/** A clock the test moves by hand. */
function fakeClock(startMs = START_MS): Clock & { advance(ms: number): void } {
  let wall = startMs;
  let mono = 0;
  return {
    now: () => wall,
    monotonic: () => mono,
    advance(ms) {
      wall += ms;
      mono += ms;
    },
  };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function keyPair(kid = KID): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

type Claims = Record<string, unknown>;

function goodClaims(nowMs = START_MS): Claims {
  const now = Math.floor(nowMs / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    sid: 'session-1',
    jti: 'token-1',
    role: 'member',
    iat: now,
    nbf: now,
    exp: now + 900,
  };
}

async function sign(
  key: CryptoKey,
  claims: Claims = goodClaims(),
  header: Record<string, unknown> = { alg: 'EdDSA', typ: 'at+jwt', kid: KID },
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

async function expectRefused(promise: Promise<unknown>, detail?: RegExp): Promise<AppError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const appError = err as AppError;
  expect({ code: appError.code, status: appError.status }).toEqual({ code: 1000, status: 401 });
  if (detail) expect(appError.detail).toMatch(detail);
  return appError;
}

describe('createTokenVerifier', () => {
  let signer: KeyPair;
  let clock: ReturnType<typeof fakeClock>;
  let keys: jest.MockedFunction<JWTVerifyGetKey>;
  /** The key-set version the fake key set reports; undefined = stale. */
  let keySetVersion: number | undefined;

  function verifier(overrides: Partial<TokenVerifierOptions> = {}): TokenVerifier {
    return createTokenVerifier({
      keys: { getKey: keys, version: () => keySetVersion },
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['EdDSA'],
      clockToleranceSeconds: TOLERANCE_S,
      maxLifetimeSeconds: MAX_LIFETIME_S,
      clock,
      ...overrides,
    });
  }

  beforeAll(async () => {
    signer = await keyPair();
  });

  beforeEach(() => {
    clock = fakeClock();
    const jwks = createLocalJWKSet({ keys: [signer.publicJwk] });
    // A spy around the key set shows whether any crypto was attempted.
    keys = jest.fn((header, token) => jwks(header, token));
    keySetVersion = 1;
  });

  it('accepts a good token and returns its claims', async () => {
    const token = await sign(signer.privateKey);

    const claims = await verifier().verify(token);

    expect(claims).toEqual({
      sub: 'user-1',
      sid: 'session-1',
      jti: 'token-1',
      role: 'member',
      iat: Math.floor(START_MS / 1000),
      exp: Math.floor(START_MS / 1000) + 900,
    });
  });

  it('refuses a token signed with alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'at+jwt', kid: KID })}.${b64(goodClaims())}.`;

    await expectRefused(verifier().verify(token));
    expect(keys).not.toHaveBeenCalled();
  });

  describe('refuses an HS256 token whose HMAC secret is the public key (algorithm confusion)', () => {
    const forge = (secret: Buffer | string): string => {
      const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: KID })}.${b64({ ...goodClaims(), role: 'ceo' })}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };

    it('with the raw 32-byte public key as secret', async () => {
      const token = forge(Buffer.from(signer.publicJwk.x!, 'base64url'));

      await expectRefused(verifier().verify(token));
      expect(keys).not.toHaveBeenCalled();
    });

    it('with the PEM-encoded public key as secret', async () => {
      const pem = (createPublicKey({ key: signer.publicJwk, format: 'jwk' }) as KeyObject)
        .export({ type: 'spki', format: 'pem' })
        .toString();
      const token = forge(pem);

      await expectRefused(verifier().verify(token));
      expect(keys).not.toHaveBeenCalled();
    });
  });

  it('refuses a token whose kid is not in the key set', async () => {
    const token = await sign(signer.privateKey, goodClaims(), {
      alg: 'EdDSA',
      typ: 'at+jwt',
      kid: 'unknown',
    });

    await expectRefused(verifier().verify(token));
  });

  it('refuses a valid signature from another key that claims the same kid', async () => {
    const impostor = await keyPair(KID);
    const token = await sign(impostor.privateKey);

    await expectRefused(verifier().verify(token));
  });

  it('refuses a token expired beyond the clock tolerance', async () => {
    const claims = { ...goodClaims(), exp: Math.floor(START_MS / 1000) - TOLERANCE_S - 1 };
    const token = await sign(signer.privateKey, claims);

    await expectRefused(verifier().verify(token), /expired/);
  });

  it('accepts a token expired within the clock tolerance', async () => {
    const claims = { ...goodClaims(), exp: Math.floor(START_MS / 1000) - TOLERANCE_S + 5 };
    const token = await sign(signer.privateKey, claims);

    await expect(verifier().verify(token)).resolves.toMatchObject({ sid: 'session-1' });
  });

  it('refuses a token whose nbf is in the future beyond the clock tolerance', async () => {
    const claims = { ...goodClaims(), nbf: Math.floor(START_MS / 1000) + TOLERANCE_S + 1 };
    const token = await sign(signer.privateKey, claims);

    await expectRefused(verifier().verify(token));
  });

  it('accepts a token whose nbf is in the future within the clock tolerance', async () => {
    const claims = { ...goodClaims(), nbf: Math.floor(START_MS / 1000) + TOLERANCE_S - 5 };
    const token = await sign(signer.privateKey, claims);

    await expect(verifier().verify(token)).resolves.toMatchObject({ sid: 'session-1' });
  });

  it.each([
    ['a wrong issuer', { iss: 'https://evil.test' }],
    ['a wrong audience', { aud: 'another-app' }],
    ['a missing jti', { jti: undefined }],
    ['a missing sid', { sid: undefined }],
    ['a missing exp', { exp: undefined }],
    ['a missing sub', { sub: undefined }],
    ['a non-string sid', { sid: 42 }],
  ])('refuses a token with %s', async (_name, change) => {
    const token = await sign(signer.privateKey, { ...goodClaims(), ...change });

    await expectRefused(verifier().verify(token));
  });

  it('refuses a token with a role outside the catalogue', async () => {
    const token = await sign(signer.privateKey, { ...goodClaims(), role: 'admin' });

    await expectRefused(verifier().verify(token), /role/);
  });

  it('refuses a correctly signed token whose exp is ten years after its iat', async () => {
    const iat = Math.floor(START_MS / 1000);
    const token = await sign(signer.privateKey, { ...goodClaims(), exp: iat + 10 * 365 * 86_400 });

    await expectRefused(verifier().verify(token));
  });

  it('accepts a token whose exp - iat is exactly the maximum lifetime', async () => {
    const iat = Math.floor(START_MS / 1000);
    const token = await sign(signer.privateKey, { ...goodClaims(), exp: iat + 3600 });

    await expect(verifier().verify(token)).resolves.toMatchObject({ exp: iat + 3600 });
  });

  it('refuses a token whose exp - iat is one second over the maximum lifetime', async () => {
    const iat = Math.floor(START_MS / 1000);
    const token = await sign(signer.privateKey, { ...goodClaims(), exp: iat + 3601 });

    await expectRefused(verifier().verify(token), /longer than allowed/);
  });

  it('refuses a token issued in the future beyond the clock tolerance', async () => {
    const iat = Math.floor(START_MS / 1000) + TOLERANCE_S + 1;
    const token = await sign(signer.privateKey, { ...goodClaims(), iat, nbf: undefined, exp: iat + 900 });

    await expectRefused(verifier().verify(token));
  });

  it.each([
    ['no typ', { alg: 'EdDSA', kid: KID }],
    ['typ JWT', { alg: 'EdDSA', typ: 'JWT', kid: KID }],
    ['typ id_token+jwt', { alg: 'EdDSA', typ: 'id_token+jwt', kid: KID }],
  ])('refuses a token with %s in its header', async (_name, header) => {
    const token = await sign(signer.privateKey, goodClaims(), header);

    await expectRefused(verifier().verify(token));
  });

  it('refuses a tampered payload (role flipped to ceo, signature kept)', async () => {
    const [header, , signature] = (await sign(signer.privateKey)).split('.');
    const forged = `${header}.${b64({ ...goodClaims(), role: 'ceo' })}.${signature}`;

    await expectRefused(verifier().verify(forged));
  });

  it.each([
    ['an empty string', ''],
    ['one segment', 'abc'],
    ['garbage segments', 'a.b.c'],
    ['a header that is a JSON array', `${b64([1])}.${b64(goodClaims())}.sig`],
  ])('refuses %s as a token', async (_name, token) => {
    await expectRefused(verifier().verify(token));
  });

  it('refuses a token over 8 KiB before any key lookup or crypto', async () => {
    const token = await sign(signer.privateKey, { ...goodClaims(), pad: 'x'.repeat(MAX_TOKEN_BYTES) });
    expect(Buffer.byteLength(token)).toBeGreaterThan(MAX_TOKEN_BYTES);

    await expectRefused(verifier().verify(token), /too large/);
    expect(keys).not.toHaveBeenCalled();
  });

  it('returns cached claims for a token it already verified, without verifying it again', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier();
    const first = await subject.verify(token);

    const second = await subject.verify(token);

    expect(second).toBe(first);
    expect(keys).toHaveBeenCalledTimes(1);
  });

  it('when the same token arrives many times at once, checks its signature once and answers all', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier();

    const all = await Promise.all(Array.from({ length: 20 }, () => subject.verify(token)));

    expect(keys).toHaveBeenCalledTimes(1);
    expect(new Set(all).size).toBe(1);
  });

  it('when a bad token arrives many times at once, refuses every one of them', async () => {
    const token = `${(await sign(signer.privateKey)).slice(0, -4)}AAAA`;
    const subject = verifier();

    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => subject.verify(token)));

    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    expect(keys).toHaveBeenCalledTimes(1);
  });

  it('does not join a check that started under a key set that has changed since', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier();

    const first = subject.verify(token);
    keySetVersion = 2;
    const second = subject.verify(token);
    await Promise.all([first, second]);

    expect(keys).toHaveBeenCalledTimes(2);
  });

  it('stops returning a cached token once it is past exp plus tolerance', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier();
    await subject.verify(token);

    clock.advance((900 + TOLERANCE_S) * 1000);

    await expectRefused(subject.verify(token), /expired/);
    expect(keys).toHaveBeenCalledTimes(2);
  });

  it('when the key set changes, verifies a cached token again instead of answering from the cache', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier();
    await subject.verify(token);

    keySetVersion = 2;

    expect(subject.verifyCached(token)).toBeUndefined();
    await subject.verify(token);
    expect(keys).toHaveBeenCalledTimes(2);
  });

  it('when the key set changes, refuses a cached token whose key the new set no longer has', async () => {
    const token = await sign(signer.privateKey);
    const successor = await keyPair('key-2');
    const subject = verifier();
    await subject.verify(token);

    const next = createLocalJWKSet({ keys: [successor.publicJwk] });
    keys.mockImplementation((header, t) => next(header, t));
    keySetVersion = 2;

    await expectRefused(subject.verify(token));
  });

  it('while the key set is stale, nothing cached counts', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier();
    await subject.verify(token);

    keySetVersion = undefined;

    expect(subject.verifyCached(token)).toBeUndefined();
    await subject.verify(token);
    expect(keys).toHaveBeenCalledTimes(2);
  });

  it('does not cache a token verified while the key set changed under it', async () => {
    const token = await sign(signer.privateKey);
    const jwks = createLocalJWKSet({ keys: [signer.publicJwk] });
    keys.mockImplementation(async (header, t) => {
      const key = await jwks(header, t);
      keySetVersion = 2; // a reload lands between the key lookup and the end of the verification
      return key;
    });
    const subject = verifier();

    await subject.verify(token);

    expect(subject.verifyCached(token)).toBeUndefined();
  });

  it('does not cache when the cache size is 0', async () => {
    const token = await sign(signer.privateKey);
    const subject = verifier({ cacheSize: 0 });

    await subject.verify(token);
    await subject.verify(token);

    expect(keys).toHaveBeenCalledTimes(2);
  });

  describe('when the remote key set cannot be fetched', () => {
    let server: Server | undefined;

    afterEach(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    });

    async function listen(handler: Parameters<typeof createServer>[1]): Promise<URL> {
      server = createServer(handler);
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
    }

    async function expectUnavailable(jwksUrl: URL, timeoutMs?: number): Promise<void> {
      const token = await sign(signer.privateKey);
      const remote = verifier({ keys: createRemoteKeySet(jwksUrl.href, { timeoutMs }) });

      const err = await remote.verify(token).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AppError);
      expect({ code: (err as AppError).code, status: (err as AppError).status }).toEqual({
        code: 8001,
        status: 503,
      });
      expect((err as AppError).data.retryAfterSeconds).toBe(1);
    }

    it('answers 503 (8001) when nothing listens on the JWKS port', async () => {
      const url = await listen((_req, res) => res.end());
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;

      await expectUnavailable(url);
    });

    it('answers 503 (8001) when the JWKS endpoint answers 500', async () => {
      const url = await listen((_req, res) => {
        res.statusCode = 500;
        res.end('oops');
      });

      await expectUnavailable(url);
    });

    it('answers 503 (8001) when the JWKS endpoint does not answer in time', async () => {
      const url = await listen(() => {
        // Never answers.
      });

      await expectUnavailable(url, 100);
      server!.closeAllConnections();
    });

    it('answers 503 (8001) when the JWKS endpoint serves something that is not a key set', async () => {
      const url = await listen((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: 'nope' }));
      });

      await expectUnavailable(url);
    });
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['BEARER abc', 'abc'],
    ['Bearer   abc.def', 'abc.def'],
    ['Bearer abc.def ', 'abc.def'],
    ['Bearer a-b_c~d+e/f==', 'a-b_c~d+e/f=='],
  ])('extracts the token from %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ['an absent header', undefined],
    ['an empty header', ''],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a scheme without token', 'Bearer'],
    ['a scheme with only spaces', 'Bearer    '],
    ['two tokens', 'Bearer abc def'],
    ['a token with a comma', 'Bearer abc,def'],
    ['padding in the middle', 'Bearer ab=c'],
    ['a scheme glued to the token', 'Bearerabc'],
  ])('returns undefined for %s', (_name, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('createAuthenticator', () => {
  const claims = {
    sub: 'user-1',
    sid: 'session-1',
    jti: 'token-1',
    role: 'member' as const,
    iat: 1,
    exp: 2,
  };

  function cache(assertNotRevoked: (sid: string) => void): RevocationCache {
    return {
      start: async () => undefined,
      stop: () => undefined,
      isLoaded: () => true,
      health: () => 'ok',
      assertNotRevoked,
      size: () => 0,
    };
  }

  it('refuses a missing token with 401 (1000)', async () => {
    const authenticator = createAuthenticator(
      { verify: async () => claims, verifyCached: () => undefined },
      cache(() => undefined),
    );

    const err = await authenticator.authenticate(undefined).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 1000, status: 401 });
  });

  it('checks the session of a verified token against the revocation cache', async () => {
    const checked: string[] = [];
    const authenticator = createAuthenticator(
      { verify: async () => claims, verifyCached: () => undefined },
      cache((sid) => {
        checked.push(sid);
        throw new AppError('SESSION_REVOKED');
      }),
    );

    const err = await authenticator.authenticate('token').catch((e: unknown) => e);

    expect(checked).toEqual(['session-1']);
    expect(err).toMatchObject({ code: 1002, status: 401 });
  });

  it('still checks revocation on the synchronous fast path for an already verified token', () => {
    let verifyCalls = 0;
    const authenticator = createAuthenticator(
      {
        verify: async () => {
          verifyCalls++;
          return claims;
        },
        verifyCached: () => claims,
      },
      cache(() => {
        throw new AppError('SESSION_REVOKED');
      }),
    );
    const req = { headers: { authorization: 'Bearer abc.def.ghi' } } as never;
    const next = jest.fn();

    authenticator.requireAuth(req, {} as never, next);

    expect(next).toHaveBeenCalledWith(expect.objectContaining({ code: 1002 }));
    expect(verifyCalls).toBe(0);
    expect((req as { auth?: unknown }).auth).toBeUndefined();
  });

  it('returns the claims and the token when the session is live', async () => {
    const authenticator = createAuthenticator(
      { verify: async () => claims, verifyCached: () => undefined },
      cache(() => undefined),
    );

    await expect(authenticator.authenticate('token')).resolves.toEqual({ ...claims, token: 'token' });
  });
});
