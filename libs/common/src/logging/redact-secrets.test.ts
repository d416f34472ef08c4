import { REDACTED, redactSecrets } from './redact-secrets';

describe('redactSecrets', () => {
  it('replaces secret keys at any depth and keeps everything else', () => {
    const input = { a: { b: { c: { d: { token: 'secret', id: 7 } } } }, note: 'kept' };

    expect(redactSecrets(input)).toEqual({
      a: { b: { c: { d: { token: REDACTED, id: 7 } } } },
      note: 'kept',
    });
  });

  it('matches keys ignoring case, dashes and underscores', () => {
    const input = { x: { accessToken: 'a', 'Refresh-Token': 'b', SET_COOKIE: 'c', Password: 'd' } };

    expect(redactSecrets(input)).toEqual({
      x: { accessToken: REDACTED, 'Refresh-Token': REDACTED, SET_COOKIE: REDACTED, Password: REDACTED },
    });
  });

  it('leaves keys that merely contain a secret word alone', () => {
    const input = { grant: { token_type: 'Bearer', expires_in: 900, password_changed_at: 'then' } };

    expect(redactSecrets(input)).toBe(input);
  });

  it('walks arrays, arrays of arrays included', () => {
    const input = { batches: [[{ refresh_token: 'r1' }], [{ ok: true }]] };

    expect(redactSecrets(input)).toEqual({ batches: [[{ refresh_token: REDACTED }], [{ ok: true }]] });
  });

  it('redacts an error’s own properties and its cause, keeping its prototype, message and stack', () => {
    const cause = Object.assign(new TypeError('inner'), { token: 'in-cause' });
    const error = Object.assign(new Error('outer', { cause }), { access_token: 'on-error', status: 401 });

    const out = redactSecrets({ err: error }).err;

    expect(out).toBeInstanceOf(Error);
    expect({ message: out.message, stack: out.stack, status: out.status }).toEqual({
      message: 'outer',
      stack: error.stack,
      status: 401,
    });
    expect(out.access_token).toBe(REDACTED);
    expect(out.cause).toBeInstanceOf(TypeError);
    expect((out.cause as { token: string }).token).toBe(REDACTED);
  });

  it('redacts inside the errors of an AggregateError', () => {
    const error = new AggregateError([Object.assign(new Error('one'), { cookie: 'sid=1' })], 'many');

    const out = redactSecrets(error);

    expect((out.errors[0] as { cookie: string }).cookie).toBe(REDACTED);
  });

  it('never changes the caller’s objects and returns an object without secrets as it is', () => {
    const clean = { a: { b: [1, 2] } };
    const dirty = { a: { token: 't' }, b: { untouched: true } };

    const out = redactSecrets(dirty);

    expect(redactSecrets(clean)).toBe(clean);
    expect(dirty.a.token).toBe('t');
    expect(out.b).toBe(dirty.b);
  });

  it('cuts a cycle instead of leaving the unredacted original under the copy', () => {
    const node: Record<string, unknown> = { token: 't' };
    node.self = node;

    const out = redactSecrets(node);

    expect(out).toEqual({ token: REDACTED, self: '[Circular]' });
  });
});
