// DESIGN.md section 2, "Paths are exact": a replica answers only the exact spelling of each route,
// whatever the gateway in front of it does. Direct to the replica, real Postgres and Redis.
import type { ConcordClient } from '@concord/client';
import { startAuthHarness, PASSWORD, type AuthHarness } from './support/auth-harness';

let h: AuthHarness;
let ceo: ConcordClient;

beforeAll(async () => {
  h = await startAuthHarness();
  ceo = await h.ceo('exact.ceo', PASSWORD);
});
afterAll(async () => {
  await h.cleanup();
});

describe('exact paths on a replica', () => {
  it.each(['login', 'refresh', 'password', 'revoke'])(
    'when POST /api/v1/auth/%s is spelled with another case or a trailing slash, answers 404',
    async (name) => {
      const capital = `${name[0]!.toUpperCase()}${name.slice(1)}`;
      const statuses: number[] = [];
      for (const path of [`/api/v1/auth/${capital}`, `/api/v1/auth/${name}/`, `/api/v1/Auth/${name}`]) {
        statuses.push((await h.client().request('POST', path, { body: {} })).status);
      }

      expect(statuses).toEqual([404, 404, 404]);
    },
  );

  it('when the users collection is spelled with a trailing slash, answers 404, and the exact path answers', async () => {
    const slash = await ceo.request('GET', '/api/v1/users/', { token: ceo.accessToken });
    const exact = await ceo.request('GET', '/api/v1/users', { token: ceo.accessToken });

    expect(slash.status).toBe(404);
    expect(exact.status).toBe(200);
  });

  it('when a user is created, its Location is the exact path of the new user', async () => {
    const res = await ceo.request<{ id: string }>('POST', '/api/v1/users', {
      token: ceo.accessToken,
      body: { username: 'exact.member', password: PASSWORD, role: 'member' },
    });

    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/users/${res.body.id}`);
  });

  it('when the JWKS path differs in case, answers 404', async () => {
    expect((await h.client().request('GET', '/.well-known/JWKS.json')).status).toBe(404);
    expect((await h.client().request('GET', '/.well-known/jwks.json')).status).toBe(200);
  });
});
