import { randomBytes } from 'node:crypto';
import { ConcordClient } from '@concord/client';
import { decodeJwt } from 'jose';
import { Pool } from 'pg';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from './support/e2e-stack';
import { startSettingsSubscriber, type SettingsSubscriber } from './support/settings-subscriber';
import { eventually } from './support/stored-setting';

/** The design's deadline for a live setting is 1 s; slow machines may widen it. */
const LIVE_BOUND_MS = Number(process.env.TEST_LIVE_SETTINGS_BOUND_MS ?? 1_000);
/** Generous bound for an event delivered by another replica's relay (its poll interval and more). */
const RELAY_BOUND_MS = Number(process.env.TEST_RELAY_BOUND_MS ?? 10_000);

let stack: E2eStack;
let ceo: ConcordClient;
let pool: Pool;
let subscriber: SettingsSubscriber;

beforeAll(async () => {
  // settings-service-1 runs without its relay: what it commits is published by settings-service-2.
  stack = await startE2eStack({
    authReplicas: 2,
    settingsReplicas: 2,
    settingsEnv: [{ SETTINGS_OUTBOX_RELAY: 'false' }, {}],
  });
  ceo = stack.client({ localAddress: '127.0.0.60' });
  await ceo.setup('live.ceo', PASSWORD);
  await ceo.login('live.ceo', PASSWORD);
  pool = new Pool({ connectionString: stack.db.url, max: 2 });
  subscriber = await startSettingsSubscriber({ pool, redisUrl: stack.redisUrl, prefix: stack.prefix });
}, 120_000);
afterAll(async () => {
  await subscriber?.close();
  await pool?.end();
  await stack?.cleanup();
});

/** A ceo write through nginx, as an operator would make it. */
async function put(key: string, value: unknown): Promise<void> {
  const res = await ceo.request('PUT', `/api/v1/settings/api/${key}`, {
    token: ceo.accessToken,
    body: { value },
  });
  expect(res.status).toBe(200);
}

/** Resets `key`; while a low limit a test set is still in force, waits as `Retry-After` says. */
async function reset(key: string): Promise<void> {
  for (;;) {
    const res = await ceo.request('DELETE', `/api/v1/settings/api/${key}`, { token: ceo.accessToken });
    if (res.status !== 429) {
      expect(res.status).toBe(200);
      // Published by the relay, then applied by every follower within the live bound: the next test
      // must not meet this test's value (a 40-character password floor, a 2-per-second limit).
      const revision = Number(String(res.headers.etag).replaceAll('"', ''));
      await eventually(
        async () => subscriber.events.some((e) => e.key === key && e.revision === revision),
        RELAY_BOUND_MS,
      );
      return;
    }
    await new Promise((r) => setTimeout(r, Number(res.headers['retry-after']) * 1000));
  }
}

async function newMember(): Promise<string> {
  const username = `m${randomBytes(5).toString('hex')}`;
  await ceo.createUser(username, PASSWORD, 'member');
  return username;
}

async function lifetimeOn(replica: number, username: string): Promise<number> {
  const tokens = await stack.client({ replica }).login(username, PASSWORD);
  const claims = decodeJwt(tokens.access_token);
  return claims.exp! - claims.iat!;
}

describe('a setting written through nginx applies live in both auth replicas', () => {
  afterEach(async () => {
    for (const key of [
      'jwt_expiry_minutes',
      'min_password_length',
      'rate_limit_max_requests',
      'rate_limit_time_unit',
    ])
      await reset(key);
    await new Promise((r) => setTimeout(r, LIVE_BOUND_MS));
  });

  it('jwt_expiry_minutes: the next token of each auth replica has the new exp within the bound', async () => {
    const username = await newMember();

    await put('jwt_expiry_minutes', 5);
    await eventually(
      async () => (await lifetimeOn(0, username)) === 300 && (await lifetimeOn(1, username)) === 300,
      LIVE_BOUND_MS,
    );

    expect(await lifetimeOn(1, username)).toBe(300);
  });

  it('min_password_length: the next password change on each auth replica is judged by it', async () => {
    const users = [await newMember(), await newMember()];

    await put('min_password_length', 40);
    await new Promise((r) => setTimeout(r, LIVE_BOUND_MS));
    const statuses = [];
    for (const replica of [0, 1]) {
      const client = stack.client({ replica });
      const tokens = await client.login(users[replica]!, PASSWORD);
      const res = await client.request('POST', '/api/v1/auth/password', {
        token: tokens.access_token,
        body: { current_password: PASSWORD, new_password: 'z'.repeat(30) },
      });
      statuses.push(res.status);
    }

    expect(statuses).toEqual([422, 422]);
  });

  it('rate_limit_max_requests: the next request over the new limit answers 429 in auth and settings', async () => {
    const username = await newMember();
    const token = (await stack.client({ localAddress: '127.0.0.61' }).login(username, PASSWORD)).access_token;

    // Per second, so that the ceo's own requests are free again a second later (reset).
    await put('rate_limit_time_unit', 'second');
    await put('rate_limit_max_requests', 2);
    await new Promise((r) => setTimeout(r, Math.max(LIVE_BOUND_MS, 1_100)));
    const client = stack.client({ localAddress: '127.0.0.61' });
    const auth = [];
    for (let i = 0; i < 3; i++) auth.push((await client.request('GET', '/api/v1/auth/me', { token })).status);
    const settings = [];
    for (let i = 0; i < 3; i++) {
      settings.push((await client.request('GET', '/api/v1/settings/api', { token })).status);
    }

    expect(auth).toEqual([200, 200, 429]);
    expect(settings).toEqual([200, 200, 429]);
  });
});

// Before the SIGKILL below: a preflight (not GET or HEAD) is never retried on the other replica.
describe('CORS through nginx', () => {
  const preflight = (origin: string) =>
    stack.client({ localAddress: '127.0.0.63' }).request('OPTIONS', '/api/v1/settings/api', {
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, if-match',
      },
    });

  it('when the default allowed origin sends a preflight, settings answers 204 allowing it', async () => {
    const res = await preflight('http://localhost:5173');

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });

  it('when another origin sends a preflight, nothing is allowed', async () => {
    const res = await preflight('http://localhost:5173.evil.test');

    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the publishing replica SIGKILLed between commit and publish', () => {
  it('the event still arrives, through the other replica relay', async () => {
    const key = `relay_${randomBytes(4).toString('hex')}`;
    const username = `w${randomBytes(5).toString('hex')}`;
    await ceo.createUser(username, PASSWORD, 'manager');
    const token = (await stack.client({ localAddress: '127.0.0.62' }).login(username, PASSWORD)).access_token;
    const writer = new ConcordClient({ baseUrl: stack.settings[0]!.url });

    const res = await writer.request('PUT', `/api/v1/settings/bench/${key}`, {
      token,
      body: { value: 1 },
    });
    stack.settings[0]!.process.child.kill('SIGKILL');
    writer.close();
    const revision = Number(JSON.parse(String(res.headers.etag)));
    await eventually(() => subscriber.events.some((e) => e.key === key), RELAY_BOUND_MS);

    expect(res.status).toBe(200);
    expect(subscriber.events.filter((e) => e.key === key).map((e) => e.revision)).toEqual([revision]);
  });
});
