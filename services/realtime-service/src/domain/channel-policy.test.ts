import { checkPublish, checkSubscribe, redactChannel, targetOf } from './channel-policy';

const me = { userId: '0190c7a4-0000-7000-8000-000000000001', role: 'member' as const };

describe('checkSubscribe', () => {
  it.each(['news', 'settings', 'presence', 'a', 'team:x.y_z-1', `a${'b'.repeat(127)}`])(
    'grants %s to a member',
    (c) => {
      expect(checkSubscribe(c, me)).toBeUndefined();
    },
  );
  it.each(['', 'News', ':x', '-x', 'a b', `a${'b'.repeat(128)}`, 'ch/x'])(
    'answers invalid-name for %j',
    (c) => {
      expect(checkSubscribe(c, me)).toBe('invalid-name');
    },
  );
  it.each(['session', `session:${me.userId}`, 'internal', 'internal:x'])(
    'never grants %s, not even to a ceo',
    (c) => {
      expect(checkSubscribe(c, { ...me, role: 'ceo' })).toBe('forbidden');
    },
  );
  it('grants the own user channel only', () => {
    expect(checkSubscribe(`user:${me.userId}`, me)).toBeUndefined();
    expect(checkSubscribe('user:0190c7a4-0000-7000-8000-000000000002', me)).toBe('forbidden');
    expect(checkSubscribe('user', me)).toBe('forbidden');
  });
  it.each([
    ['member', 'forbidden'],
    ['observer', 'forbidden'],
    ['manager', undefined],
    ['ceo', undefined],
  ] as const)('answers %s for budget channels with %s', (role, expected) => {
    expect(checkSubscribe('budget', { ...me, role })).toBe(expected);
    expect(checkSubscribe('budget:q3', { ...me, role })).toBe(expected);
  });
  it('does not treat budgets-like names as budget', () => {
    expect(checkSubscribe('budgets', me)).toBeUndefined();
  });
});

describe('checkPublish and targetOf', () => {
  it('refuses reserved channels and invalid names', () => {
    expect(checkPublish('internal:x')).toBe('forbidden');
    expect(checkPublish('Bad')).toBe('invalid-name');
    expect(checkPublish('budget:q3')).toBeUndefined();
  });
  it('routes user channels to the user room and others to ch: rooms', () => {
    expect(targetOf(`user:${me.userId}`)).toEqual({
      kind: 'user',
      userId: me.userId,
      room: `u:${me.userId}`,
    });
    expect(targetOf('news')).toEqual({ kind: 'shared', room: 'ch:news' });
  });
});

describe('redactChannel', () => {
  it('keeps the first segment and a hash, never the rest of the name', () => {
    const redacted = redactChannel('budget:acquisition-of-acme');
    expect(redacted).toMatch(/^budget:#[0-9a-f]{12}$/);
    expect(redacted).not.toContain('acme');
    expect(redactChannel('budget:other')).not.toBe(redacted);
  });
  it('does not echo an invalid name', () => {
    expect(redactChannel('Secret Name')).toMatch(/^invalid:#/);
  });
});
