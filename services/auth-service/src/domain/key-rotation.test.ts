import { calculateJwkThumbprint } from 'jose';
import {
  assertValidKeySet,
  DEFAULT_MIN_NEXT_AGE_MS,
  generateSigningKey,
  KeyRotationError,
  planInit,
  promote,
  publishedKeys,
  retire,
  signingKey,
  type SigningKeyRecord,
} from './key-rotation';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;

function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** A key record without real key material; the lifecycle functions only look at status and dates. */
function record(
  kid: string,
  status: SigningKeyRecord['status'],
  dates: Partial<SigningKeyRecord> = {},
): SigningKeyRecord {
  return {
    kty: 'OKP',
    crv: 'Ed25519',
    x: 'x',
    d: 'd',
    kid,
    alg: 'EdDSA',
    use: 'sig',
    status,
    created_at: T0.toISOString(),
    ...(status === 'next' ? {} : { activated_at: T0.toISOString() }),
    ...dates,
  };
}

describe('planInit', () => {
  it('creates one active and one next Ed25519 key whose kids are RFC 7638 thumbprints', async () => {
    const { keys } = await planInit(T0);

    expect(keys.map((k) => k.status)).toEqual(['active', 'next']);
    for (const key of keys) {
      expect(key).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        alg: 'EdDSA',
        use: 'sig',
        created_at: T0.toISOString(),
      });
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: key.x }));
    }
    expect(keys[0]!.activated_at).toBe(T0.toISOString());
    expect(keys[0]!.kid).not.toBe(keys[1]!.kid);
  });
});

describe('generateSigningKey', () => {
  it('produces a private JWK with a 32-byte public and private part', async () => {
    const key = await generateSigningKey('next', T0);

    expect(key.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.activated_at).toBeUndefined();
  });
});

describe('promote', () => {
  it('refuses while the next key is younger than the minimum age, naming when it will be allowed', () => {
    const keys = [record('a', 'active'), record('n', 'next', { created_at: at(5 * MINUTE).toISOString() })];

    const act = () => promote(keys, at(15 * MINUTE));

    expect(act).toThrow(KeyRotationError);
    expect(act).toThrow(at(5 * MINUTE + DEFAULT_MIN_NEXT_AGE_MS).toISOString());
  });

  it('defaults the minimum age to 11 minutes, above the verifiers 10-minute JWKS cache', () => {
    const keys = [record('a', 'active'), record('n', 'next')];

    expect(() => promote(keys, at(11 * MINUTE - 1))).toThrow(KeyRotationError);
    expect(promote(keys, at(11 * MINUTE)).find((k) => k.kid === 'n')?.status).toBe('active');
  });

  it('makes the next key active and keeps the old active key active and published', () => {
    const keys = [record('a', 'active'), record('n', 'next')];

    const promoted = promote(keys, at(20 * MINUTE));

    expect(promoted.map((k) => [k.kid, k.status])).toEqual([
      ['a', 'active'],
      ['n', 'active'],
    ]);
    expect(promoted[1]!.activated_at).toBe(at(20 * MINUTE).toISOString());
    expect(publishedKeys(promoted).map((k) => k.kid)).toEqual(['a', 'n']);
    expect(signingKey(promoted).kid).toBe('n');
  });

  it('honours a custom minimum age', () => {
    const keys = [record('a', 'active'), record('n', 'next')];

    expect(promote(keys, at(1_000), 1_000)[1]!.status).toBe('active');
  });

  it('does not modify its input', () => {
    const keys = [record('a', 'active'), record('n', 'next')];

    promote(keys, at(20 * MINUTE));

    expect(keys[1]!.status).toBe('next');
  });

  it('refuses when there is no next key', () => {
    expect(() => promote([record('a', 'active')], at(20 * MINUTE))).toThrow(/no next key/);
  });
});

describe('retire', () => {
  const MAX_TOKEN_AGE_MS = 61 * MINUTE;
  const afterRotation = [
    record('old', 'active'),
    record('new', 'active', { activated_at: at(20 * MINUTE).toISOString() }),
    record('n2', 'next', { created_at: at(20 * MINUTE).toISOString() }),
  ];

  it('refuses while tokens signed by the older key may still be valid', () => {
    const act = () => retire(afterRotation, at(20 * MINUTE + MAX_TOKEN_AGE_MS - 1), MAX_TOKEN_AGE_MS);

    expect(act).toThrow(KeyRotationError);
    expect(act).toThrow(/old/);
  });

  it('retires the older active keys once the newest has been active for the maximum token age', () => {
    const now = at(20 * MINUTE + MAX_TOKEN_AGE_MS);

    const retired = retire(afterRotation, now, MAX_TOKEN_AGE_MS);

    expect(retired.map((k) => [k.kid, k.status])).toEqual([
      ['old', 'retired'],
      ['new', 'active'],
      ['n2', 'next'],
    ]);
    expect(retired[0]!.retired_at).toBe(now.toISOString());
    expect(publishedKeys(retired).map((k) => k.kid)).toEqual(['new', 'n2']);
  });

  it('changes nothing when only one key is active', () => {
    const keys = [record('a', 'active'), record('n', 'next')];

    expect(retire(keys, at(60 * MINUTE), MAX_TOKEN_AGE_MS)).toEqual(keys);
  });
});

describe('signingKey', () => {
  it('picks the active key activated last, whatever the order in the file', () => {
    const keys = [
      record('newest', 'active', { activated_at: at(30 * MINUTE).toISOString() }),
      record('older', 'active', { activated_at: at(10 * MINUTE).toISOString() }),
      record('retired', 'retired', {
        activated_at: at(40 * MINUTE).toISOString(),
        retired_at: at(50 * MINUTE).toISOString(),
      }),
    ];

    expect(signingKey(keys).kid).toBe('newest');
  });

  it('refuses a key set without an active key', () => {
    expect(() => signingKey([record('n', 'next')])).toThrow(/no active key/);
  });
});

describe('publishedKeys', () => {
  it('publishes next and active keys but never retired ones', () => {
    const keys = [
      record('r', 'retired', { retired_at: T0.toISOString() }),
      record('a', 'active'),
      record('n', 'next'),
    ];

    expect(publishedKeys(keys).map((k) => k.kid)).toEqual(['a', 'n']);
  });
});

describe('assertValidKeySet', () => {
  it.each([
    ['two next keys', [record('a', 'active'), record('n1', 'next'), record('n2', 'next')], /at most one/],
    ['duplicate kids', [record('a', 'active'), record('a', 'next')], /duplicate kid/],
    [
      'an active key without activated_at',
      [record('a', 'active', { activated_at: undefined })],
      /activated_at/,
    ],
    ['a retired key without retired_at', [record('a', 'active'), record('r', 'retired')], /retired_at/],
    ['an unparseable date', [record('a', 'active', { created_at: 'yesterday' })], /created_at/],
    ['no keys at all', [], /no active key/],
  ])('refuses %s', (_name, keys, message) => {
    expect(() => assertValidKeySet(keys)).toThrow(message);
  });
});
