// Hostile input must answer a 4xx problem (or be ignored), never a 500 (DESIGN.md section 3): body
// parser failures of every kind, and forwarded addresses that the address parser accepts but
// Postgres' inet refuses. Real Postgres and Redis, a replica called directly.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { ConcordClient, TokenResponse } from '@concord/client';
import { startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

let h: AuthHarness;
let ceo: ConcordClient;

beforeAll(async () => {
  h = await startAuthHarness();
  ceo = await h.ceo('hostile.ceo');
});
afterAll(async () => {
  await h.cleanup();
});

/** A member of its own for one test. */
async function newUser(): Promise<string> {
  const username = `hostile.${randomUUID().slice(0, 8)}`;
  await ceo.createUser(username, PASSWORD, 'member');
  return username;
}

/** A POST with exactly these headers and body bytes, straight to the replica. */
function post(path: string, headers: Record<string, string>, body: string | Buffer) {
  return h.client().request<Record<string, unknown>>('POST', path, { headers, rawBody: body });
}

/** A login as a fresh user, sent from nginx's address (a trusted proxy) with this X-Forwarded-For. */
async function loginForwardedFor(xff: string) {
  const username = await newUser();
  return h.client(0, '127.0.0.2').request<TokenResponse>('POST', '/api/v1/auth/login', {
    headers: { 'x-forwarded-for': xff },
    body: { username, password: PASSWORD },
  });
}

describe('body-parser failures', () => {
  it('when /auth/revoke receives more than 1000 form fields, answers a 413 problem', async () => {
    const body = Array.from({ length: 1001 }, (_, i) => `f${i}=x`).join('&');

    const res = await post(
      '/api/v1/auth/revoke',
      { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    );

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 413, code: 2002, error: 'PAYLOAD_TOO_LARGE' });
    expect(res.status).toBe(413);
  });

  it('when a gzip-encoded body is not gzip, answers a 400 problem', async () => {
    const res = await post(
      '/api/v1/auth/login',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      'this is not gzip',
    );

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 2001, error: 'REQUEST_VALIDATION_ERROR' });
  });

  it('when a gzip-encoded body inflates beyond the limit, answers a 413 problem', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, ' '));

    const res = await post(
      '/api/v1/auth/login',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      bomb,
    );

    expect(res.body).toMatchObject({ status: 413, code: 2002, error: 'PAYLOAD_TOO_LARGE' });
  });

  it('when the content encoding is unknown, answers a 415 problem', async () => {
    const res = await post(
      '/api/v1/auth/login',
      { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
      '{}',
    );

    expect(res.body).toMatchObject({ status: 415, code: 2004, error: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('when the JSON charset is not supported, answers a 415 problem', async () => {
    const res = await post(
      '/api/v1/auth/login',
      { 'content-type': 'application/json; charset=iso-8859-1' },
      '{}',
    );

    expect(res.body).toMatchObject({ status: 415, code: 2004, error: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('forwarded addresses Postgres refuses', () => {
  it('when a trusted proxy forwards an address with an IPv6 zone id, logs in and records the proxy as the last good hop', async () => {
    const res = await loginForwardedFor('fe80::1%eth0');

    expect(res.status).toBe(200);
    expect(res.body.session.ip_address).toBe('127.0.0.2');
  });

  it.each(['::ffff:0x7f.0.0.1', '::ffff:010.0.0.1', '1:2:3:4:5:6:077.1.1.1'])(
    'when a trusted proxy forwards the non-decimal embedded IPv4 %s, ignores the hop',
    async (hop) => {
      const res = await loginForwardedFor(hop);

      expect(res.status).toBe(200);
      expect(res.body.session.ip_address).toBe('127.0.0.2');
    },
  );

  it('when a trusted proxy forwards the IPv4-compatible IPv6 hop ::203.0.113.9, records that IPv6 address, not 203.0.113.9', async () => {
    const res = await loginForwardedFor('::203.0.113.9');

    expect(res.status).toBe(200);
    // Postgres prints ::cb00:7109 in its IPv4-compatible notation.
    expect(res.body.session.ip_address).toBe('::203.0.113.9');
  });
});

describe('forged list cursors', () => {
  /** A cursor in the API's own encoding (base64url of `|`-joined fields) around hostile fields. */
  function forged(...fields: string[]): string {
    return Buffer.from(fields.join('|')).toString('base64url');
  }

  it.each([
    ['an id of 36 dashes', forged('2026-01-01T00:00:00.000Z', '-'.repeat(36))],
    ['an id that is 36 hex digits without dashes', forged('2026-01-01T00:00:00.000Z', 'a'.repeat(36))],
    ['a timestamp before the range of Postgres', forged('-271821-04-20T00:00:00.000Z', randomUUID())],
    ['a third field', forged('2026-01-01T00:00:00.000Z', randomUUID(), 'x')],
  ])(
    'when GET /auth/sessions gets a cursor with %s, answers 422 naming the cursor',
    async (_name, cursor) => {
      const res = await ceo.request<Record<string, unknown>>(
        'GET',
        `/api/v1/auth/sessions?limit=1&cursor=${cursor}`,
        { token: ceo.accessToken },
      );

      expect(res.body).toMatchObject({
        status: 422,
        code: 2000,
        errors: [{ path: 'cursor', message: expect.any(String) }],
      });
    },
  );
});
