import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@concord/common';
import { decodeJwt } from 'jose';
import { planInit } from '../domain/key-rotation';
import { createAccessTokenIssuer } from './access-token-issuer';
import { loadKeyRing, writeKeyFile, type KeyRing } from './key-ring';

const CLAIMS = { sub: 'u1', sid: 's1', role: 'member' as const, username: 'u1' };

describe('access-token issuer', () => {
  let dir: string;
  let ring: KeyRing;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'issuer-'));
    const file = join(dir, 'jwt-keys.json');
    await writeKeyFile(file, await planInit(new Date()));
    ring = await loadKeyRing(file, {
      logger: createLogger({ level: 'silent', service: 'test', replicaId: 'test' }),
    });
  });
  afterAll(async () => {
    ring.close();
    await rm(dir, { recursive: true, force: true });
  });

  const issuer = () => createAccessTokenIssuer({ ring, issuer: 'iss', audience: 'aud', maxTtlSeconds: 1800 });

  it('signs a token whose exp - iat is the lifetime asked for, up to the maximum', async () => {
    const claims = decodeJwt(await issuer().issue(CLAIMS, new Date(), 1800));

    expect(claims.exp! - claims.iat!).toBe(1800);
  });

  it('refuses to sign a token that would live longer than JWT_MAX_ACCESS_TTL_SECONDS', async () => {
    await expect(issuer().issue(CLAIMS, new Date(), 1801)).rejects.toThrow(
      /exceeds JWT_MAX_ACCESS_TTL_SECONDS/,
    );
  });
});
