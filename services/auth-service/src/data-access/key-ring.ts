import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { keySetFingerprint, type Logger, type VerificationKeys } from '@concord/common';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import {
  assertValidKeySet,
  publishedKeys,
  signingKey,
  type KeyFile,
  type SigningKeyRecord,
} from '../domain/key-rotation';

/**
 * The signing keys of this replica, reloaded when `JWT_KEYS_FILE` changes. As
 * {@link VerificationKeys}, it resolves a token's `kid` against the published keys only (anything
 * else is a jose error), and its version moves whenever a reload changes the published set, which
 * flushes the verifier's cache: a token whose key was retired is refused from that reload on.
 */
export interface KeyRing extends VerificationKeys {
  /** The key that signs new access tokens (the newest active key). */
  signingKey(): { kid: string; key: CryptoKey | KeyObject };
  /** `/.well-known/jwks.json`: the `next` and `active` keys, public members only. */
  publicJwks(): { keys: JWK[] };
  /** Always defined: the file is polled, so the local set is never stale. */
  version(): number;
  /** Stops watching the file. */
  close(): void;
}

/** Options of {@link loadKeyRing}. */
export interface KeyRingOptions {
  logger: Logger;
  /** How often the file is polled for changes (default 2000 ms). */
  pollIntervalMs?: number;
}

/** The key file is missing, unsafe, malformed or inconsistent. Never carries key material. */
export class KeyFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'KeyFileError';
  }
}

const base64url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected 32 bytes, base64url');
const isoDate = z.iso.datetime({ offset: true });

const keyRecordSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: base64url32,
  d: base64url32,
  kid: z.string().min(1),
  alg: z.literal('EdDSA'),
  use: z.literal('sig'),
  status: z.enum(['next', 'active', 'retired']),
  created_at: isoDate,
  activated_at: isoDate.optional(),
  retired_at: isoDate.optional(),
});

const keyFileSchema = z.object({ keys: z.array(keyRecordSchema) });

/** The members a verifier needs; `d` is deliberately absent. */
function publicJwk(key: SigningKeyRecord): JWK {
  return { kty: key.kty, crv: key.crv, x: key.x, kid: key.kid, alg: key.alg, use: key.use };
}

async function checkKeyMaterial(file: string, key: SigningKeyRecord, index: number): Promise<KeyObject> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: key.kty, crv: key.crv, x: key.x, d: key.d }, format: 'jwk' });
  } catch {
    throw new KeyFileError(file, `keys[${index}] is not a usable Ed25519 private key`);
  }
  // A mismatched x/d pair would publish a key that verifies none of the tokens we sign.
  if (createPublicKey(privateKey).export({ format: 'jwk' }).x !== key.x) {
    throw new KeyFileError(file, `keys[${index}] (${key.kid}): x is not the public half of d`);
  }
  const thumbprint = await calculateJwkThumbprint({ kty: key.kty, crv: key.crv, x: key.x });
  if (thumbprint !== key.kid)
    throw new KeyFileError(file, `keys[${index}]: kid is not the RFC 7638 thumbprint of x`);
  return privateKey;
}

/**
 * Reads and validates a key file: owner-only permissions, the schema, the lifecycle invariants and
 * each key's material. Messages name the problem, never a key's private part (not even the JSON
 * parser's excerpt of the text, which could contain one).
 */
export async function readKeyFile(file: string): Promise<KeyFile> {
  return (await readValidated(file)).keyFile;
}

async function readValidated(
  file: string,
): Promise<{ keyFile: KeyFile; privateKeys: Map<string, KeyObject> }> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (err) {
    throw new KeyFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!info.isFile()) throw new KeyFileError(file, 'is not a regular file');
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new KeyFileError(
      file,
      `holds private keys but is accessible by group or others (mode ${mode}); chmod 600 it`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new KeyFileError(file, 'is not valid JSON');
    throw new KeyFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '$'}: ${i.message}`);
    throw new KeyFileError(file, `invalid key file (${problems.join('; ')})`);
  }
  const keyFile: KeyFile = parsed.data;
  try {
    assertValidKeySet(keyFile.keys);
  } catch (err) {
    throw new KeyFileError(file, (err as Error).message);
  }
  const privateKeys = new Map<string, KeyObject>();
  for (const [index, key] of keyFile.keys.entries()) {
    privateKeys.set(key.kid, await checkKeyMaterial(file, key, index));
  }
  return { keyFile, privateKeys };
}

/**
 * Writes `keyFile` atomically with mode 0600: a temporary file in the same directory (so the rename
 * cannot cross file systems), flushed, then renamed over `file`. Readers see the old or the new file,
 * never half of one. With `exclusive`, an existing file is left alone and `false` is returned.
 */
export async function writeKeyFile(
  file: string,
  keyFile: KeyFile,
  options: { exclusive?: boolean } = {},
): Promise<boolean> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(keyFile, null, 2)}\n`);
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (!options.exclusive) {
      await rename(temp, file);
      return true;
    }
    // link() fails when the target exists, which rename() would overwrite: two concurrent `init`s
    // cannot both win.
    try {
      await link(temp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    await unlink(temp).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
  }
}

interface RingState {
  signing: { kid: string; key: KeyObject };
  jwks: { keys: JWK[] };
  fingerprint: string;
  resolve: JWTVerifyGetKey;
}

async function buildState(file: string): Promise<RingState> {
  const { keyFile, privateKeys } = await readValidated(file);
  const signer = signingKey(keyFile.keys);
  const jwks = { keys: publishedKeys(keyFile.keys).map(publicJwk) };
  return {
    signing: { kid: signer.kid, key: privateKeys.get(signer.kid)! },
    jwks,
    fingerprint: keySetFingerprint(jwks),
    resolve: createLocalJWKSet(jwks),
  };
}

function describe(state: RingState): Record<string, unknown> {
  return { signing_kid: state.signing.kid, published_kids: state.jwks.keys.map((k) => k.kid) };
}

/**
 * Loads `file` (rejecting if it is unusable) and keeps the ring in step with it: the file is polled
 * every `pollIntervalMs`, and a change is applied only if the new file is valid. A bad file is
 * logged at error level and the previous ring stays in service, so an operator's mistake never takes
 * signing down.
 */
export async function loadKeyRing(file: string, options: KeyRingOptions): Promise<KeyRing> {
  const { logger } = options;
  let state = await buildState(file);
  let version = 1;
  logger.info({ file, ...describe(state) }, 'signing keys loaded');

  // Reloads run one at a time; a change seen meanwhile triggers one more run afterwards.
  let running = false;
  let again = false;
  async function reload(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          const next = await buildState(file);
          if (next.fingerprint !== state.fingerprint) version += 1;
          state = next;
          logger.info({ file, ...describe(state) }, 'signing keys reloaded');
        } catch (err) {
          logger.error(
            { file, err: (err as Error).message, ...describe(state) },
            'signing key file rejected; keeping the previous keys',
          );
        }
      } while (again);
    } finally {
      running = false;
    }
  }

  // Polling rather than fs.watch: it sees atomic renames and Kubernetes' symlink-swapped Secret
  // volumes alike. Unreferenced, so it never keeps the process alive on its own.
  const onChange = (current: Stats, previous: Stats): void => {
    // ctime moves on every write and chmod; ino on every atomic replace.
    const same = current.ino === previous.ino && current.ctimeMs === previous.ctimeMs;
    if (!same || current.mtimeMs !== previous.mtimeMs) void reload();
  };
  watchFile(file, { interval: options.pollIntervalMs ?? 2_000, persistent: false }, onChange);

  return {
    signingKey: () => state.signing,
    publicJwks: () => ({ keys: state.jwks.keys.map((k) => ({ ...k })) }),
    version: () => version,
    getKey: async (header, token) => {
      // Without a kid jose would pick any single published key; Concord tokens always name theirs.
      if (typeof header.kid !== 'string') throw new errors.JWKSNoMatchingKey('the token names no kid');
      return state.resolve(header, token);
    },
    close: () => unwatchFile(file, onChange),
  };
}
