import { Algorithm, hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from './auth.ports';

/** argon2id cost parameters. */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

/**
 * argon2id hasher (OWASP minimum m=19 MiB, t=2, p=1 by default). A hash made with other parameters
 * verifies but reports `needsRehash`, so raising the cost upgrades users at their next login.
 */
export async function createArgon2Hasher(params: Argon2Params): Promise<PasswordHasher> {
  const options = { ...params, algorithm: Algorithm.Argon2id };
  // Verified against for unknown usernames so that "no such user" costs the same as "wrong password".
  const dummyHash = await hash('concord-dummy-password-for-equal-timing', options);
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      const match = PHC.exec(stored);
      const ok = await verify(stored, password);
      const needsRehash =
        !match ||
        Number(match[1]) !== params.memoryCost ||
        Number(match[2]) !== params.timeCost ||
        Number(match[3]) !== params.parallelism;
      return { ok, needsRehash };
    },
    async verifyDummy(password) {
      await verify(dummyHash, password);
    },
  };
}
