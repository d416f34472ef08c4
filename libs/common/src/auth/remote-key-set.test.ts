import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createRemoteKeySet, type RemoteKeySetOptions } from './remote-key-set';
import { createTokenVerifier } from './token-verifier';

async function newKey() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicJwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } as JWK & { kid: string } };
}

async function token(key: Awaited<ReturnType<typeof newKey>>) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: 's1', role: 'member' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.publicJwk.kid })
    .setIssuer('iss')
    .setAudience('aud')
    .setSubject('u1')
    .setJti(`j-${Math.random()}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(key.privateKey);
}

describe('remote key set (JWKS_URL)', () => {
  let published: JWK[] = [];
  let fetches = 0;
  const server = http.createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published }));
  });
  let url = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function verifierOf(keys: RemoteKeySetOptions, cacheSize?: number) {
    return createTokenVerifier({
      keys: createRemoteKeySet(url, keys),
      issuer: 'iss',
      audience: 'aud',
      algorithms: ['EdDSA'],
      clockToleranceSeconds: 0,
      maxLifetimeSeconds: 3600,
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      cacheSize,
    });
  }

  it('follows a rotation: a token with a newly published kid verifies after a refetch, bounded by the cooldown', async () => {
    const oldKey = await newKey();
    const newerKey = await newKey();
    published = [oldKey.publicJwk];
    const verifier = verifierOf({ cooldownMs: 200 }, 0);

    await expect(verifier.verify(await token(oldKey))).resolves.toMatchObject({ sub: 'u1' });
    await expect(verifier.verify(await token(newerKey))).rejects.toMatchObject({ code: 1000 });
    const fetchesBefore = fetches;
    await expect(verifier.verify(await token(newerKey))).rejects.toMatchObject({ code: 1000 });
    expect(fetches).toBe(fetchesBefore); // within the cooldown an unknown kid does not refetch

    published = [oldKey.publicJwk, newerKey.publicJwk];
    await new Promise((r) => setTimeout(r, 250));

    await expect(verifier.verify(await token(newerKey))).resolves.toMatchObject({ sub: 'u1' });
    await expect(verifier.verify(await token(oldKey))).resolves.toMatchObject({ sub: 'u1' });
  });

  it('when a refetched key set no longer lists the key of a token it verified before, refuses that token', async () => {
    const retiring = await newKey();
    const successor = await newKey();
    published = [retiring.publicJwk, successor.publicJwk];
    const verifier = verifierOf({ cacheMaxAgeMs: 200, cooldownMs: 200 });
    const tokenOfRetiringKey = await token(retiring);
    await expect(verifier.verify(tokenOfRetiringKey)).resolves.toMatchObject({ sub: 'u1' });
    await verifier.verify(tokenOfRetiringKey);
    expect(verifier.verifyCached(tokenOfRetiringKey)).toMatchObject({ sub: 'u1' });

    published = [successor.publicJwk];
    await new Promise((r) => setTimeout(r, 300));
    const fetchesBefore = fetches;

    await expect(verifier.verify(tokenOfRetiringKey)).rejects.toMatchObject({ code: 1000 });
    expect(verifier.verifyCached(tokenOfRetiringKey)).toBeUndefined();
    expect(fetches).toBeGreaterThan(fetchesBefore);
  });

  it('when a refetch returns the same key set, keeps the tokens it verified before', async () => {
    const key = await newKey();
    published = [key.publicJwk];
    const verifier = verifierOf({ cacheMaxAgeMs: 200, cooldownMs: 200 });
    const known = await token(key);
    // The first verification fetched the set, which a verification must not be cached across.
    await verifier.verify(known);
    await verifier.verify(known);
    expect(verifier.verifyCached(known)).toMatchObject({ sub: 'u1' });
    await new Promise((r) => setTimeout(r, 300));
    const fetchesBefore = fetches;

    // Another token triggers the refetch of the stale set; the set comes back unchanged.
    await verifier.verify(await token(key));

    expect(fetches).toBe(fetchesBefore + 1);
    expect(verifier.verifyCached(known)).toMatchObject({ sub: 'u1' });
  });
});
