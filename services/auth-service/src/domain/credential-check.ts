import { AppError, type Clock, type Logger } from '@concord/common';
import type { UserRecord } from './auth.model';
import type { LoginThrottle, PasswordHasher, ThrottleReservation, UserRepository } from './auth.ports';
import { addressBucket } from './address-bucket';

/** An address that logged in successfully as a user within this many days is known for them. */
export const KNOWN_ADDRESS_DAYS = 30;

/** A password that passed the throttle and the hash; the reservation is released on success. */
export interface VerifiedPassword {
  user: UserRecord;
  needsRehash: boolean;
  address: string;
  reservation: ThrottleReservation;
}

/** Dependencies of {@link createCredentialCheck}. */
export interface CredentialCheckDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  clock: Clock;
  /** Where a refused password is reported (a security event, DESIGN.md section 8). */
  logger: Logger;
}

/** The one 429 of the throttles; the problem middleware turns the wait into `Retry-After`. */
export function rateLimited(retryAfterSeconds: number, detail: string): AppError {
  return new AppError('RATE_LIMITED', detail, { data: { retryAfterSeconds } });
}

/**
 * Password verification behind the failed-login budgets, shared by login and password change
 * (DESIGN.md section 4): the slot is reserved BEFORE the hash is checked, so parallel guesses can
 * never exceed a budget; unknown usernames reserve the same slots and burn a dummy verification.
 * A failure keeps its reservation (it is the failure record); `undefined` means a wrong password
 * or an unknown user. The caller releases the reservation once the change it guards committed.
 */
export function createCredentialCheck(deps: CredentialCheckDeps) {
  const { users, hasher, throttle } = deps;
  return async function verifyPassword(input: {
    by: { username: string } | { id: string };
    password: string;
    ip: string;
    throttledDetail: string;
  }): Promise<VerifiedPassword | undefined> {
    const address = addressBucket(input.ip);
    const knownSince = new Date(deps.clock.now() - KNOWN_ADDRESS_DAYS * 86_400_000);
    const subject = await users.findForCredentialCheck(input.by, address, knownSince);
    if (!subject && 'id' in input.by) throw new AppError('UNAUTHORIZED', 'Unknown user');
    const username = subject?.user.username ?? ('username' in input.by ? input.by.username : '');
    const verdict = await throttle.reserve({
      username,
      address,
      knownAddress: subject?.knownAddress ?? false,
    });
    if (!verdict.admitted) throw rateLimited(verdict.retryAfterMs / 1000, input.throttledDetail);
    if (!subject) {
      await hasher.verifyDummy(input.password);
    } else {
      const { ok, needsRehash } = await hasher.verify(subject.user.passwordHash, input.password);
      if (ok) return { user: subject.user, needsRehash, address, reservation: verdict.reservation };
    }
    // Never the password; whether the username exists is for the operator only (the client gets the
    // same answer either way).
    deps.logger.warn(
      {
        event: 'id' in input.by ? 'password_check_failed' : 'login_failed',
        username,
        address,
        known_user: subject !== undefined,
      },
      'password refused',
    );
    return undefined;
  };
}

/** The check built by {@link createCredentialCheck}. */
export type CredentialCheck = ReturnType<typeof createCredentialCheck>;
