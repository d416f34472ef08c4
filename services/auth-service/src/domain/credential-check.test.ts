import { createLogger, type Clock } from '@concord/common';
import { captureLogLines } from '../../../../libs/common/test/support/log-capture';
import type { UserRecord } from './auth.model';
import type { LoginAttempt, LoginThrottle, PasswordHasher, UserRepository } from './auth.ports';
import { createCredentialCheck } from './credential-check';

const clock: Clock = { now: () => 1_700_000_000_000, monotonic: () => 0 };

const alice: UserRecord = {
  id: '6f1b0f5e-6c1e-4f1e-9d7b-1a2b3c4d5e6f',
  username: 'alice',
  passwordHash: 'hash:right password!',
  role: 'member',
  createdAt: new Date(0),
  passwordChangedAt: new Date(0),
  securityStamp: '0b9c7d64-3f7e-4a57-8d2b-6b1d9f0e4c21',
};

function fakes(options: { refuse?: boolean; knownAddress?: boolean } = {}) {
  const calls: string[] = [];
  const attempts: LoginAttempt[] = [];
  const hasher: PasswordHasher = {
    hash: async (p) => `hash:${p}`,
    async verify(hash, password) {
      calls.push('verify');
      return { ok: hash === `hash:${password}`, needsRehash: false };
    },
    async verifyDummy() {
      calls.push('verifyDummy');
    },
  };
  const throttle: LoginThrottle = {
    async reserve(attempt) {
      calls.push('reserve');
      attempts.push(attempt);
      return options.refuse
        ? { admitted: false, budget: 'account', retryAfterMs: 7_200 }
        : { admitted: true, reservation: { id: `r${attempts.length}`, attempt } };
    },
    release: async () => undefined,
  };
  const users = {
    findForCredentialCheck: async (by: { username: string } | { id: string }) =>
      'username' in by && by.username === 'alice'
        ? { user: alice, knownAddress: options.knownAddress ?? false }
        : undefined,
  } as unknown as UserRepository;
  const { lines: logged, destination } = captureLogLines();
  const logger = createLogger({ level: 'info', service: 'test', replicaId: 'r1', destination });
  const check = createCredentialCheck({ users, hasher, throttle, clock, logger });
  return { check, calls, attempts, logged };
}

const attempt = (username: string, password: string, ip = '203.0.113.9') => ({
  by: { username },
  password,
  ip,
  throttledDetail: 'slow down',
});

describe('credential check', () => {
  it('when the username is unknown, reserves the same slots and burns a dummy verification', async () => {
    const { check, calls, attempts } = fakes();

    const unknown = await check(attempt('mallory', 'whatever pass'));
    const wrong = await check(attempt('alice', 'whatever pass'));

    expect(unknown).toBeUndefined();
    expect(wrong).toBeUndefined();
    expect(calls).toEqual(['reserve', 'verifyDummy', 'reserve', 'verify']);
    expect(attempts).toEqual([
      { username: 'mallory', address: '203.0.113.9', knownAddress: false },
      { username: 'alice', address: '203.0.113.9', knownAddress: false },
    ]);
  });

  it('when the throttle refuses, answers 429 with the wait before touching the password', async () => {
    const { check, calls } = fakes({ refuse: true });

    const result = check(attempt('alice', 'right password!'));

    await expect(result).rejects.toMatchObject({ code: 5000, data: { retryAfterSeconds: 8 } });
    expect(calls).toEqual(['reserve']);
  });

  it('when the address is known for the user, tells the throttle so (no per-account budget)', async () => {
    const { check, attempts } = fakes({ knownAddress: true });

    const verified = await check(attempt('alice', 'right password!'));

    expect(verified?.user.id).toBe(alice.id);
    expect(attempts[0]).toMatchObject({ knownAddress: true });
  });

  it('when the client is on IPv6, reserves under its /64', async () => {
    const { check, attempts } = fakes();

    await check(attempt('alice', 'right password!', '2001:db8:7:8:1234::5'));

    expect(attempts[0]!.address).toBe('2001:db8:7:8::/64');
  });

  it('when the password is wrong, logs a login_failed security event with username and address, never the password', async () => {
    const { check, logged } = fakes();

    await check(attempt('alice', 'wrong password!', '203.0.113.9'));
    await new Promise((resolve) => setImmediate(resolve));

    expect(logged).toEqual([
      expect.objectContaining({
        event: 'login_failed',
        username: 'alice',
        address: '203.0.113.9',
        known_user: true,
      }),
    ]);
    expect(JSON.stringify(logged)).not.toContain('wrong password!');
  });

  it('when the password is right, logs no failure', async () => {
    const { check, logged } = fakes();

    await check(attempt('alice', 'right password!'));
    await new Promise((resolve) => setImmediate(resolve));

    expect(logged).toEqual([]);
  });
});
