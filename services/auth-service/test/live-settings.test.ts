import { randomBytes } from 'node:crypto';
import type { ConcordClient } from '@concord/client';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { Pool } from 'pg';
import { eventually, publishChange, storeSetting } from '../../../test/support/stored-setting';
import { PASSWORD, startAuthHarness, type AuthHarness } from './support/auth-harness';

/** The design's deadline is 1 s; slow machines may widen it. */
const LIVE_BOUND_MS = Number(process.env.TEST_LIVE_SETTINGS_BOUND_MS ?? 1_000);

let h: AuthHarness;
let pool: Pool;
let publisher: Redis;
let ceo: ConcordClient;

beforeAll(async () => {
  h = await startAuthHarness({ replicas: 2 });
  pool = new Pool({ connectionString: h.db.url, max: 2 });
  publisher = new Redis(h.redisUrl);
  ceo = await h.ceo();
});
afterAll(async () => {
  publisher?.disconnect();
  await pool?.end();
  await h?.cleanup();
});
afterEach(async () => {
  // Each test starts from the defaults: every change is reset (a tombstone, as settings-service does).
  const { rows } = await pool.query<{ key: string }>(
    "SELECT key FROM settings WHERE namespace = 'api' AND value IS NOT NULL",
  );
  for (const { key } of rows)
    await publishChange(publisher, h.prefix, await storeSetting(pool, { key, value: null }));
  await new Promise((r) => setTimeout(r, 100));
});

async function change(key: string, value: unknown): Promise<void> {
  await publishChange(publisher, h.prefix, await storeSetting(pool, { key, value }));
}

async function newMember(): Promise<string> {
  const username = `m${randomBytes(5).toString('hex')}`;
  await ceo.createUser(username, PASSWORD, 'member');
  return username;
}

async function lifetimeOn(replica: number, username: string): Promise<number> {
  const client = h.client(replica);
  const tokens = await client.login(username, PASSWORD);
  const claims = decodeJwt(tokens.access_token);
  return claims.exp! - claims.iat!;
}

describe('settings applied live by both auth replicas', () => {
  it('when jwt_expiry_minutes changes, the next token of each replica lives that long', async () => {
    const username = await newMember();

    await change('jwt_expiry_minutes', 5);
    const started = Date.now();
    await eventually(
      async () => (await lifetimeOn(0, username)) === 300 && (await lifetimeOn(1, username)) === 300,
      LIVE_BOUND_MS,
    );

    expect(Date.now() - started).toBeLessThanOrEqual(LIVE_BOUND_MS + 500);
  });

  it('when jwt_expiry_minutes is reset, the next token lives the default 15 minutes again', async () => {
    const username = await newMember();
    await change('jwt_expiry_minutes', 7);
    await eventually(async () => (await lifetimeOn(0, username)) === 420, LIVE_BOUND_MS);

    await change('jwt_expiry_minutes', null);
    await eventually(async () => (await lifetimeOn(1, username)) === 900, LIVE_BOUND_MS);

    expect(await lifetimeOn(0, username)).toBe(900);
  });

  it('when min_password_length rises, the next password change on each replica is judged by it', async () => {
    const users = [await newMember(), await newMember()];

    await change('min_password_length', 40);
    await new Promise((r) => setTimeout(r, LIVE_BOUND_MS));
    const statuses = [];
    for (const replica of [0, 1]) {
      const client = h.client(replica);
      const tokens = await client.login(users[replica]!, PASSWORD);
      const res = await client.request('POST', '/api/v1/auth/password', {
        token: tokens.access_token,
        body: { current_password: PASSWORD, new_password: 'x'.repeat(30) },
      });
      statuses.push(res.status);
    }

    expect(statuses).toEqual([422, 422]);
  });

  it('when min_password_length rises, a user created with a shorter password is refused', async () => {
    await change('min_password_length', 40);
    await new Promise((r) => setTimeout(r, LIVE_BOUND_MS));

    const res = await ceo.request('POST', '/api/v1/users', {
      token: ceo.accessToken,
      body: { username: `m${randomBytes(5).toString('hex')}`, password: 'y'.repeat(30), role: 'member' },
    });

    expect(res.status).toBe(422);
  });

  it('when rate_limit_max_requests drops, the next authenticated request over it answers 429 on either replica', async () => {
    const username = await newMember();
    const tokens = await h.client(0).login(username, PASSWORD);
    await change('rate_limit_max_requests', 2);
    await new Promise((r) => setTimeout(r, LIVE_BOUND_MS));
    const me = (replica: number) =>
      h.client(replica).request('GET', '/api/v1/auth/me', { token: tokens.access_token });

    const statuses = [(await me(0)).status, (await me(1)).status, (await me(0)).status, (await me(1)).status];

    expect(statuses).toEqual([200, 200, 429, 429]);
  });
});
