import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@concord/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { planInit, promote, type KeyFile } from '../domain/key-rotation';
import { KeyFileError, loadKeyRing, readKeyFile, writeKeyFile, type KeyRing } from './key-ring';

const POLL_MS = 20;

interface Captured {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

function capturingLogger(): Captured {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', service: 'test', replicaId: 'test', destination }), lines };
}

async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function sign(ring: KeyRing, claims: Record<string, unknown> = { sub: 'u1' }): Promise<string> {
  const { kid, key } = ring.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).setIssuedAt().sign(key);
}

describe('key ring', () => {
  let dir: string;
  let file: string;
  let initial: KeyFile;
  const rings: KeyRing[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'key-ring-'));
    file = join(dir, 'jwt-keys.json');
    initial = await planInit(new Date());
    await writeKeyFile(file, initial);
  });

  afterEach(async () => {
    for (const ring of rings.splice(0)) ring.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(logger: Logger = capturingLogger().logger): Promise<KeyRing> {
    const ring = await loadKeyRing(file, { logger, pollIntervalMs: POLL_MS });
    rings.push(ring);
    return ring;
  }

  it('signs with the active key and publishes active and next keys without private members', async () => {
    const ring = await open();

    const jwks = ring.publicJwks();

    expect(ring.signingKey().kid).toBe(initial.keys[0]!.kid);
    expect(jwks.keys.map((k) => k.kid)).toEqual(initial.keys.map((k) => k.kid));
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(jwk).not.toHaveProperty('d');
    }
    expect(JSON.stringify(jwks)).not.toContain(initial.keys[0]!.d);
  });

  it('verifies a token signed by the signing key through its resolver', async () => {
    const ring = await open();
    const token = await sign(ring);

    const { payload, protectedHeader } = await jwtVerify(token, ring.getKey, { algorithms: ['EdDSA'] });

    expect(payload.sub).toBe('u1');
    expect(protectedHeader.kid).toBe(ring.signingKey().kid);
  });

  it('refuses a token whose kid is not published', async () => {
    const ring = await open();
    const stranger = await planInit(new Date());
    const strangerFile = join(dir, 'other.json');
    await writeKeyFile(strangerFile, stranger);
    const other = await loadKeyRing(strangerFile, {
      logger: capturingLogger().logger,
      pollIntervalMs: POLL_MS,
    });
    rings.push(other);
    const token = await sign(other);

    await expect(jwtVerify(token, ring.getKey, { algorithms: ['EdDSA'] })).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });

  it('refuses a token that names no kid, even though a published key would match its algorithm', async () => {
    const ring = await open();
    const token = await new SignJWT({ sub: 'u1' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign(ring.signingKey().key);

    await expect(jwtVerify(token, ring.getKey, { algorithms: ['EdDSA'] })).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });

  it('refuses a key file readable by group or others', async () => {
    await chmod(file, 0o640);

    await expect(open()).rejects.toThrow(/accessible by group or others \(mode 640\); chmod 600/);
  });

  it('writes key files with mode 0600', async () => {
    const info = await stat(file);

    expect(info.mode & 0o777).toBe(0o600);
  });

  it('refuses a file whose kid is not the thumbprint of its key, without echoing key material', async () => {
    const tampered = {
      keys: initial.keys.map((k, i) => (i === 0 ? { ...k, kid: 'chosen-by-attacker' } : k)),
    };
    await writeKeyFile(file, tampered);

    const failure = readKeyFile(file);

    await expect(failure).rejects.toBeInstanceOf(KeyFileError);
    await expect(failure).rejects.toThrow(/thumbprint/);
  });

  it('refuses invalid JSON without quoting the text, which could hold a private key', async () => {
    const secret = initial.keys[0]!.d;
    await writeFile(file, `{"keys": [{"d": "${secret}",}]}`, { mode: 0o600 });

    const failure = readKeyFile(file);

    await expect(failure).rejects.toThrow('is not valid JSON');
    await expect(failure.catch((err: Error) => err.message)).resolves.not.toContain(secret);
  });

  it('picks up a rotated file and signs with the promoted key', async () => {
    const ring = await open();
    const promoted = promote(initial.keys, new Date(), 0);

    await writeKeyFile(file, { keys: promoted });
    await eventually(() => ring.signingKey().kid === initial.keys[1]!.kid);

    expect(ring.publicJwks().keys.map((k) => k.kid)).toEqual(initial.keys.map((k) => k.kid));
  });

  it('keeps the old ring and logs an error when the new file is bad', async () => {
    const { logger, lines } = capturingLogger();
    const ring = await open(logger);
    const tokenBefore = await sign(ring);

    await writeKeyFile(file, { keys: [] });
    await eventually(() => lines.some((l) => l.level === 'error'));

    const error = lines.find((l) => l.level === 'error')!;
    expect(error.msg).toMatch(/rejected; keeping the previous keys/);
    expect(error.err).toMatch(/no active key/);
    expect(ring.signingKey().kid).toBe(initial.keys[0]!.kid);
    await expect(jwtVerify(tokenBefore, ring.getKey, { algorithms: ['EdDSA'] })).resolves.toBeDefined();
  });

  it('keeps the old ring when the file is made group-readable', async () => {
    const { logger, lines } = capturingLogger();
    const ring = await open(logger);

    await chmod(file, 0o644);
    await eventually(() => lines.some((l) => l.level === 'error'));

    expect(String(lines.find((l) => l.level === 'error')!.err)).toMatch(/mode 644/);
    expect(ring.signingKey().kid).toBe(initial.keys[0]!.kid);
  });

  it('leaves an existing file untouched when writing exclusively', async () => {
    const other = await planInit(new Date());

    const written = await writeKeyFile(file, other, { exclusive: true });

    expect(written).toBe(false);
    expect((await readKeyFile(file)).keys[0]!.kid).toBe(initial.keys[0]!.kid);
  });
});
