import { AppError, type Clock } from '@concord/common';
import type { UserRecord } from './auth.model';
import type { LoginThrottle, PasswordHasher, UserRepository } from './auth.ports';
import { createAuthService, type AuthServiceDeps } from './auth.service';

const clock: Clock = { now: () => 1_700_000_000_000, monotonic: () => 0 };

function fakeHasher() {
  const calls: string[] = [];
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
  return { hasher, calls };
}

function fakeThrottle() {
  const failures: string[] = [];
  const throttle: LoginThrottle = {
    retryAfter: async () => 0,
    recordFailure: async (u, ip) => {
      failures.push(`${u}@${ip}`);
    },
    recordSuccess: async () => undefined,
  };
  return { throttle, failures };
}

const alice: UserRecord = {
  id: '6f1b0f5e-6c1e-4f1e-9d7b-1a2b3c4d5e6f',
  username: 'alice',
  passwordHash: 'hash:right password!',
  role: 'member',
  createdAt: new Date(0),
  passwordChangedAt: new Date(0),
};

function service(overrides: Partial<AuthServiceDeps>) {
  const users = {
    findByUsername: async (u: string) => (u === 'alice' ? alice : undefined),
  } as unknown as UserRepository;
  return createAuthService({
    users,
    sessions: {} as never,
    hasher: fakeHasher().hasher,
    issuer: {} as never,
    revoker: {} as never,
    throttle: fakeThrottle().throttle,
    refreshLimiter: { hit: async () => 0 },
    policy: {
      accessTtlSeconds: 900,
      idleTimeoutSeconds: 3600,
      absoluteLifetimeSeconds: 7200,
      refreshGraceSeconds: 10,
    },
    refreshSecret: 'x'.repeat(32),
    minPasswordLength: () => 12,
    clock,
    verifyAccessToken: async () => {
      throw new AppError('UNAUTHORIZED');
    },
    ...overrides,
  });
}

describe('login with unknown usernames', () => {
  it('burns a dummy verification for an unknown user and counts its failure like a wrong password', async () => {
    const { hasher, calls } = fakeHasher();
    const { throttle, failures } = fakeThrottle();
    const auth = service({ hasher, throttle });

    const unknown = auth.login('mallory', 'whatever pass', { ip: '203.0.113.9', userAgent: undefined });
    await expect(unknown).rejects.toMatchObject({ code: 1003 });
    const wrong = auth.login('alice', 'whatever pass', { ip: '203.0.113.9', userAgent: undefined });
    await expect(wrong).rejects.toMatchObject({ code: 1003 });

    expect(calls).toEqual(['verifyDummy', 'verify']);
    expect(failures).toEqual(['mallory@203.0.113.9', 'alice@203.0.113.9']);
  });

  it('answers 429 before touching the password when the throttle says wait', async () => {
    const { hasher, calls } = fakeHasher();
    const auth = service({ hasher, throttle: { ...fakeThrottle().throttle, retryAfter: async () => 7.2 } });

    const attempt = auth.login('alice', 'right password!', { ip: '203.0.113.9', userAgent: undefined });

    await expect(attempt).rejects.toMatchObject({ code: 5000, headers: { 'Retry-After': '8' } });
    expect(calls).toEqual([]);
  });
});
