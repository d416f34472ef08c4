import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import { makeKey, startAuthHarness, type AuthHarness } from './support/auth-harness';

let h: AuthHarness;
let activeKey: JWK & { kid: string };
let claims: { sub: string; sid: string; role: string };

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

async function sign(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: JWK & { kid: string } = activeKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, jti: randomUUID(), ...payload })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid, ...header } as never)
    .setIssuer((payload.iss as string) ?? h.env.JWT_ISSUER ?? 'https://localhost:8443')
    .setAudience((payload.aud as string) ?? h.env.JWT_AUDIENCE ?? 'concord')
    .setIssuedAt((payload.iat as number) ?? now)
    .setNotBefore((payload.nbf as number) ?? now)
    .setExpirationTime((payload.exp as number) ?? now + 300)
    .sign(await importJWK(key, 'EdDSA'));
}

// The bound under test, set here rather than taken from the config default.
const MAX_ACCESS_TTL_SECONDS = 1800;

beforeAll(async () => {
  h = await startAuthHarness({ env: { JWT_MAX_ACCESS_TTL_SECONDS: String(MAX_ACCESS_TTL_SECONDS) } });
  const ceo = await h.ceo();
  const me = await ceo.me();
  claims = { sub: me.id, sid: me.session_id, role: 'member' };
  const file = JSON.parse(readFileSync(h.keyFile, 'utf8')) as {
    keys: (JWK & { kid: string; status: string })[];
  };
  activeKey = file.keys.find((k) => k.status === 'active')!;
});
afterAll(async () => {
  await h.cleanup();
});

/** A complete, valid-looking claims set (for hand-built tokens). */
function body(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return b64({
    ...claims,
    jti: randomUUID(),
    iss: 'https://localhost:8443',
    aud: 'concord',
    iat: now,
    nbf: now,
    exp: now + 300,
    ...extra,
  });
}

async function expectRefused(token: string): Promise<void> {
  const res = await h.client().request('GET', '/api/v1/auth/me', { token });
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.body).toMatchObject({ code: 1000, error: 'UNAUTHORIZED', status: 401 });
}

describe('access-token verification on a live replica', () => {
  it('accepts a correctly signed token (control)', async () => {
    const res = await h.client().request('GET', '/api/v1/auth/me', { token: await sign({}) });
    expect(res.status).toBe(200);
  });

  it('refuses alg none', async () => {
    await expectRefused(`${b64({ alg: 'none', typ: 'at+jwt' })}.${body()}.`);
  });

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: activeKey.kid });
    const payload = body();
    const publicJwk = JSON.stringify({ kty: activeKey.kty, crv: activeKey.crv, x: activeKey.x });
    for (const secret of [publicJwk, activeKey.x!, Buffer.from(activeKey.x!, 'base64url')]) {
      const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      await expectRefused(`${header}.${payload}.${sig}`);
    }
  });

  it('refuses an unknown kid and a foreign key claiming our kid', async () => {
    const foreign = (await makeKey('active')) as JWK & { kid: string };
    await expectRefused(await sign({}, {}, foreign));
    await expectRefused(await sign({}, { kid: activeKey.kid }, { ...foreign, kid: activeKey.kid }));
  });

  it('refuses an expired token (beyond the 60 s tolerance) and one whose nbf is in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await sign({ exp: now - 120 }));
    await expectRefused(await sign({ nbf: now + 600, exp: now + 900 }));
  });

  it('refuses a correctly signed token that lives ten years (exp - iat)', async () => {
    const now = Math.floor(Date.now() / 1000);

    await expectRefused(await sign({ iat: now, exp: now + 10 * 365 * 86_400 }));
  });

  it('refuses a token whose exp - iat is one second over JWT_MAX_ACCESS_TTL_SECONDS', async () => {
    const now = Math.floor(Date.now() / 1000);

    await expectRefused(await sign({ iat: now, exp: now + 1801 }));
  });

  it('accepts a token whose exp - iat is exactly JWT_MAX_ACCESS_TTL_SECONDS', async () => {
    const now = Math.floor(Date.now() / 1000);

    const res = await h
      .client()
      .request('GET', '/api/v1/auth/me', { token: await sign({ iat: now, exp: now + 1800 }) });

    expect(res.status).toBe(200);
  });

  it('refuses a token issued in the future (iat beyond the clock tolerance) that would stay valid for years', async () => {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + 10 * 365 * 86_400;

    await expectRefused(await sign({ iat: exp - 900, exp }));
  });

  it('refuses a wrong issuer, audience or typ', async () => {
    await expectRefused(await sign({ iss: 'https://evil.example' }));
    await expectRefused(await sign({ aud: 'someone-else' }));
    await expectRefused(await sign({}, { typ: 'JWT' }));
  });

  it('refuses tokens without jti or sid', async () => {
    // An undefined member is dropped from the signed JSON: a correctly signed token lacking it.
    const noJti = await sign({ jti: undefined });
    const noSid = await sign({ sid: undefined });
    expect(decodeJwt(noJti)).not.toHaveProperty('jti');
    expect(decodeJwt(noSid)).not.toHaveProperty('sid');
    await expectRefused(noJti);
    await expectRefused(noSid);
  });

  it('refuses a tampered payload (role escalated, signature kept)', async () => {
    const [header, , signature] = (await sign({})).split('.');
    const forged = body({ role: 'ceo' });
    await expectRefused(`${header}.${forged}.${signature}`);
  });

  it('refuses an oversized token (> 8 KiB) with a problem body', async () => {
    await expectRefused(await sign({ pad: 'x'.repeat(9_000) }));
  });

  it('refuses a missing or malformed Authorization header', async () => {
    const c = h.client();
    for (const authorization of [undefined, 'Basic Zm9vOmJhcg==', 'Bearer', 'Bearer a b c']) {
      const res = await c.request('GET', '/api/v1/auth/me', {
        headers: authorization ? { authorization } : {},
      });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 1000 });
    }
  });

  it('applies the same checks on admin routes', async () => {
    const res = await h
      .client()
      .request('GET', '/api/v1/users', { token: await sign({ role: 'ceo' }, { typ: 'JWT' }) });
    expect(res.status).toBe(401);
  });
});
