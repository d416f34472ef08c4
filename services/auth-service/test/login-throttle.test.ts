import { randomBytes } from 'node:crypto';
import type { HttpResponse } from '@concord/client';
import { offsetClock, startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

const WRONG = 'definitely not the password';

/** A harness with one admin ceo whose only job is creating each test's own users. */
async function throttleHarness(env: Record<string, string>, options: { replicas?: number } = {}) {
  const clock = offsetClock();
  const h = await startAuthHarness({ replicas: options.replicas ?? 1, env, clock });
  const admin = await h.ceo(`admin.${randomBytes(3).toString('hex')}`);
  const newUser = async (prefix: string) => {
    const username = `${prefix}.${randomBytes(4).toString('hex')}`;
    await admin.createUser(username, PASSWORD, 'member');
    return username;
  };
  return { h, clock, newUser };
}

function login(h: AuthHarness, username: string, password: string, from: string, replica = 0) {
  return h.client(replica, from).request('POST', '/api/v1/auth/login', { body: { username, password } });
}

function retryAfter(res: HttpResponse): number {
  return Number(res.headers['retry-after']);
}

describe('parallel guesses against one account from one address (finding 1)', () => {
  let t: Awaited<ReturnType<typeof throttleHarness>>;
  beforeAll(async () => {
    // A base delay far longer than the burst, so "one more guess after the delay" cannot blur the count.
    t = await throttleHarness(
      {
        LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '5',
        LOGIN_FAILURES_PER_ADDRESS: '1000',
        LOGIN_FAILURES_PER_ACCOUNT: '1000',
        LOGIN_BASE_DELAY_MS: '60000',
        LOGIN_MAX_DELAY_MS: '60000',
      },
      { replicas: 2 },
    );
  });
  afterAll(async () => {
    await t.h.cleanup();
  });

  it('when 60 wrong passwords arrive at once on two replicas, verifies at most 5 and answers 429 + Retry-After to the rest', async () => {
    const victim = await t.newUser('parallel');

    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => login(t.h, victim, WRONG, '127.0.0.11', i % 2)),
    );

    const verified = answers.filter((r) => r.status === 401);
    const throttled = answers.filter((r) => r.status === 429);
    process.stdout.write(`parallel guesses verified: ${verified.length} of 60\n`);
    expect(verified.length).toBeLessThanOrEqual(5);
    expect(verified.length).toBeGreaterThan(0);
    expect(throttled).toHaveLength(60 - verified.length);
    for (const r of throttled) {
      expect(r.body).toMatchObject({ code: 5000, error: 'RATE_LIMITED' });
      expect(retryAfter(r)).toBeGreaterThan(0);
    }
  });

  it('when an account is throttled, counts the rejection by budget in concord_login_throttle_rejections_total', async () => {
    const victim = await t.newUser('metric');
    for (let i = 0; i < 6; i++) await login(t.h, victim, WRONG, '127.0.0.12');

    const text = await (await fetch(`http://127.0.0.1:${t.h.replicas[0]!.metricsPort}/metrics`)).text();

    const line = text
      .split('\n')
      .find((l) => /^concord_login_throttle_rejections_total\{[^}]*budget="account_address"/.test(l));
    expect(line).toBeDefined();
    expect(Number(line!.split(' ').pop())).toBeGreaterThanOrEqual(1);
  });
});

describe('an office behind one address', () => {
  let t: Awaited<ReturnType<typeof throttleHarness>>;
  beforeAll(async () => {
    t = await throttleHarness({
      LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '3',
      LOGIN_FAILURES_PER_ADDRESS: '6',
      LOGIN_FAILURES_PER_ACCOUNT: '3',
      LOGIN_BASE_DELAY_MS: '60000',
      LOGIN_MAX_DELAY_MS: '60000',
    });
  });
  afterAll(async () => {
    await t.h.cleanup();
  });

  it('when one user logs in successfully many times in a row, never answers 429', async () => {
    const user = await t.newUser('office');

    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await login(t.h, user, PASSWORD, '127.0.0.13')).status);

    expect(statuses).toEqual(Array(12).fill(200));
  });

  it('when colleagues log in successfully in parallel waves from one address, never answers 429', async () => {
    // As many at once as the per-address budget holds: each success gives its slot back.
    const colleagues = await Promise.all(Array.from({ length: 6 }, () => t.newUser('colleague')));

    const statuses: number[] = [];
    for (let wave = 0; wave < 4; wave++) {
      const answers = await Promise.all(colleagues.map((u) => login(t.h, u, PASSWORD, '127.0.0.14')));
      statuses.push(...answers.map((r) => r.status));
    }

    expect(statuses).toEqual(Array(24).fill(200));
  });

  it('when a user mistypes then succeeds, the success clears that username at that address', async () => {
    const user = await t.newUser('typo');
    const before = [];
    for (let i = 0; i < 2; i++) before.push((await login(t.h, user, WRONG, '127.0.0.15')).status);
    const ok = await login(t.h, user, PASSWORD, '127.0.0.15');

    const after = [];
    for (let i = 0; i < 3; i++) after.push((await login(t.h, user, WRONG, '127.0.0.15')).status);

    expect(before).toEqual([401, 401]);
    expect(ok.status).toBe(200);
    // Three fresh failures fit the per-(account, address) budget of 3 again; without the clear the
    // third would be the fifth and get 429.
    expect(after).toEqual([401, 401, 401]);
  });
});

describe('lockout attack from other addresses (finding 2)', () => {
  let t: Awaited<ReturnType<typeof throttleHarness>>;
  beforeAll(async () => {
    // Documented defaults for the budgets, but a delay long enough that the attack keeps the account
    // throttled for the whole test.
    t = await throttleHarness({ LOGIN_BASE_DELAY_MS: '30000', LOGIN_MAX_DELAY_MS: '60000' }, { replicas: 2 });
  });
  afterAll(async () => {
    await t.h.cleanup();
  });

  it('when failures for the username arrive from 8 other addresses, the victim still logs in from its known address', async () => {
    const victim = await t.newUser('victim');
    expect((await login(t.h, victim, PASSWORD, '127.0.0.20')).status).toBe(200);
    const attackers = Array.from({ length: 8 }, (_, i) => `127.0.0.${21 + i}`);

    const victimAnswers: number[] = [];
    for (let round = 0; round < 6; round++) {
      const [victimTry] = await Promise.all([
        login(t.h, victim, PASSWORD, '127.0.0.20', round % 2),
        ...attackers.map((from, i) => login(t.h, victim, WRONG, from, i % 2)),
      ]);
      victimAnswers.push(victimTry.status);
    }

    process.stdout.write(`victim answers during the attack: ${victimAnswers.join(',')}\n`);
    expect(victimAnswers).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('when the account is under attack, an address it never logged in from is delayed, even with the right password', async () => {
    const victim = await t.newUser('roaming');
    expect((await login(t.h, victim, PASSWORD, '127.0.0.30')).status).toBe(200);
    const attackers = Array.from({ length: 8 }, (_, i) => `127.0.0.${31 + i}`);
    for (let round = 0; round < 2; round++) {
      await Promise.all(attackers.map((from) => login(t.h, victim, WRONG, from)));
    }

    const elsewhere = await login(t.h, victim, PASSWORD, '127.0.0.39');
    const home = await login(t.h, victim, PASSWORD, '127.0.0.30');

    expect(elsewhere.status).toBe(429);
    expect(retryAfter(elsewhere)).toBeGreaterThan(0);
    expect(home.status).toBe(200);
  });
});

describe('budgets, answers and delays', () => {
  let t: Awaited<ReturnType<typeof throttleHarness>>;
  beforeAll(async () => {
    t = await throttleHarness({
      LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '3',
      LOGIN_FAILURES_PER_ADDRESS: '8',
      LOGIN_FAILURES_PER_ACCOUNT: '3',
      LOGIN_BASE_DELAY_MS: '30000',
      LOGIN_MAX_DELAY_MS: '60000',
      REFRESH_RATE_LIMIT_PER_MINUTE: '3',
    });
  });
  afterAll(async () => {
    await t.h.cleanup();
  });

  it('when a known and an unknown username are guessed from new addresses, both answer 401 x3 then 429 with the same Retry-After', async () => {
    const known = await t.newUser('known');
    const unknown = `nobody.${randomBytes(4).toString('hex')}`;

    const series = async (username: string, firstOctet: number) => {
      const answers = [];
      for (let i = 0; i < 4; i++)
        answers.push(await login(t.h, username, WRONG, `127.0.${firstOctet}.${i + 1}`));
      return answers;
    };
    const knownAnswers = await series(known.toUpperCase(), 41);
    const unknownAnswers = await series(unknown, 42);

    for (const answers of [knownAnswers, unknownAnswers]) {
      expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 429]);
      expect(answers[3]!.body).toMatchObject({ code: 5000, error: 'RATE_LIMITED' });
    }
    expect(retryAfter(knownAnswers[3]!)).toBe(30);
    expect(retryAfter(unknownAnswers[3]!)).toBe(30);
  });

  it('when the budget of one account at one address is spent, refuses even the right password there', async () => {
    const user = await t.newUser('nobypass');
    for (let i = 0; i < 3; i++) await login(t.h, user, WRONG, '127.0.0.43');

    const right = await login(t.h, user, PASSWORD, '127.0.0.43');

    expect(right.status).toBe(429);
    expect(retryAfter(right)).toBeLessThanOrEqual(30);
  });

  it('when one address sprays many usernames, counts its failures across them', async () => {
    const answers = [];
    for (let i = 0; i < 9; i++)
      answers.push(await login(t.h, `spray${i}.${randomBytes(2).toString('hex')}`, WRONG, '127.0.0.44'));

    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
  });

  it('when two IPv6 clients share a /64, they share one address budget', async () => {
    // Sent from nginx's address with X-Forwarded-For, the way the gateway reports IPv6 clients.
    const fromV6 = (username: string, ip: string) =>
      t.h.client(0, '127.0.0.2').request('POST', '/api/v1/auth/login', {
        body: { username, password: WRONG },
        headers: { 'x-forwarded-for': ip },
      });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await fromV6(`v6spray${i}`, `2001:db8:5:6::${i + 1}`));

    const sameSlash64 = await fromV6('v6spray.next', '2001:db8:5:6:ffff::1');
    const otherSlash64 = await fromV6('v6spray.next', '2001:db8:5:7::1');

    expect(answers.every((r) => r.status === 401)).toBe(true);
    expect(sameSlash64.status).toBe(429);
    expect(otherSlash64.status).toBe(401);
  });

  it('when the current password is guessed through the password change, the same budget answers 429, even to the right one', async () => {
    const user = await t.newUser('pwguess');
    const c = t.h.client(0, '127.0.0.46');
    await c.login(user, PASSWORD);
    const change = (current: string) =>
      c.request('POST', '/api/v1/auth/password', {
        token: c.accessToken,
        body: { current_password: current, new_password: 'a new long passphrase' },
      });

    const guesses = [];
    for (let i = 0; i < 3; i++) guesses.push((await change(WRONG)).status);
    const right = await change(PASSWORD);

    expect(guesses).toEqual([401, 401, 401]);
    expect(right.status).toBe(429);
    expect(retryAfter(right)).toBeGreaterThan(0);
  });

  it('rate limits /refresh per client address', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await t.h.client(0, '127.0.0.45').request('POST', '/api/v1/auth/refresh', {
        body: { refresh_token: `crt_${'B'.repeat(43)}` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('the bound on guesses from unknown addresses', () => {
  let t: Awaited<ReturnType<typeof throttleHarness>>;
  beforeAll(async () => {
    // Only the per-account budget can bite: 2 free failures, then 1 s doubling up to 60 s.
    t = await throttleHarness({
      LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '10000',
      LOGIN_FAILURES_PER_ADDRESS: '10000',
      LOGIN_FAILURES_PER_ACCOUNT: '2',
      LOGIN_BASE_DELAY_MS: '1000',
      LOGIN_MAX_DELAY_MS: '60000',
    });
  });
  afterAll(async () => {
    await t.h.cleanup();
  });

  it('when an attacker guesses as fast as allowed for an hour, the delay doubles to its cap and 66 guesses are checked', async () => {
    const victim = await t.newUser('bounded');
    let elapsedSeconds = 0;
    const waits: number[] = [];
    let checked = 0;
    for (let i = 0; elapsedSeconds < 3600; i++) {
      const res = await login(t.h, victim, WRONG, `127.0.${100 + (i % 50)}.${1 + (i % 200)}`);
      if (res.status === 401) {
        checked += 1;
        continue;
      }
      expect(res.status).toBe(429);
      const wait = retryAfter(res);
      waits.push(wait);
      t.clock.advance(wait);
      elapsedSeconds += wait;
    }

    expect(waits.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 60, 60]);
    // 2 free + 6 while the delay grows (by t = 63 s) + one per 60 s from t = 123 s to 3543 s = 58.
    expect(checked).toBe(66);
  });
});

describe('known addresses expire', () => {
  let t: Awaited<ReturnType<typeof throttleHarness>>;
  beforeAll(async () => {
    t = await throttleHarness({ LOGIN_FAILURES_PER_ACCOUNT: '3', LOGIN_BASE_DELAY_MS: '30000' });
  });
  afterAll(async () => {
    await t.h.cleanup();
  });

  it('when an address last logged in more than 30 days ago, the per-account budget applies to it again', async () => {
    const victim = await t.newUser('stale');
    expect((await login(t.h, victim, PASSWORD, '127.0.0.50')).status).toBe(200);
    t.clock.advance(31 * 86_400);
    for (let i = 0; i < 3; i++) await login(t.h, victim, WRONG, `127.0.0.${51 + i}`);

    const home = await login(t.h, victim, PASSWORD, '127.0.0.50');

    expect(home.status).toBe(429);
  });
});
