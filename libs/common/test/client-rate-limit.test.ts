import { randomUUID } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import type { Role } from '../src/auth/token-verifier';
import { clientRateLimit, type RateLimitPolicy } from '../src/http/client-rate-limit';
import { problemHandler } from '../src/http/problem-middleware';
import { createLogger } from '../src/logging/logger';
import { deleteRedisPrefix, uniqueRedisPrefix } from '../../../test/support/redis-prefix';

const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'test-1' });
let redis: Redis;
const prefix = uniqueRedisPrefix();

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});
afterAll(async () => {
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
});

/** Stands in for the authenticator: the caller named by `X-Test-Sub` is authenticated. */
const fakeAuth: RequestHandler = (req, _res, next) => {
  const sub = req.header('x-test-sub');
  if (sub)
    req.auth = {
      sub,
      sid: randomUUID(),
      jti: randomUUID(),
      role: 'member' as Role,
      iat: 0,
      exp: 0,
      token: 't',
    };
  next();
};

function appWith(policy: () => RateLimitPolicy, excludePaths: string[] = []) {
  const app = express();
  app.use(fakeAuth);
  app.use(clientRateLimit({ redis, keyPrefix: `${prefix}${randomUUID()}:`, policy, excludePaths }));
  app.get('/api/v1/thing', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(problemHandler(logger));
  return app;
}

const fixed =
  (maxRequests: number, timeUnit: RateLimitPolicy['timeUnit'] = 'minute') =>
  () => ({
    maxRequests,
    timeUnit,
  });

describe('the per-client rate limit', () => {
  it('when one client sends 40 requests in parallel against a limit of 10, exactly 10 pass', async () => {
    const app = appWith(fixed(10));
    const sub = randomUUID();

    const statuses = await Promise.all(
      Array.from({ length: 40 }, () => request(app).get('/api/v1/thing').set('X-Test-Sub', sub)),
    ).then((responses) => responses.map((r) => r.status));

    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
  });

  it('when the limit is reached, answers 429 code 5000 with Retry-After within the window', async () => {
    const app = appWith(fixed(1));
    const sub = randomUUID();
    await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(200);

    const refused = await request(app).get('/api/v1/thing').set('X-Test-Sub', sub);

    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 5000, error: 'RATE_LIMITED' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('when one client is limited, another client still passes (keyed by subject)', async () => {
    const app = appWith(fixed(1));
    const [limited, other] = [randomUUID(), randomUUID()];
    await request(app).get('/api/v1/thing').set('X-Test-Sub', limited).expect(200);
    await request(app).get('/api/v1/thing').set('X-Test-Sub', limited).expect(429);

    const response = await request(app).get('/api/v1/thing').set('X-Test-Sub', other);

    expect(response.status).toBe(200);
  });

  it('when the maximum is lowered, the next request is judged by the new maximum', async () => {
    let policy: RateLimitPolicy = { maxRequests: 5, timeUnit: 'minute' };
    const app = appWith(() => policy);
    const sub = randomUUID();
    for (let i = 0; i < 3; i++) await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(200);

    policy = { maxRequests: 3, timeUnit: 'minute' };
    const response = await request(app).get('/api/v1/thing').set('X-Test-Sub', sub);

    expect(response.status).toBe(429);
  });

  it('when the maximum is raised, the next request passes again', async () => {
    let policy: RateLimitPolicy = { maxRequests: 2, timeUnit: 'minute' };
    const app = appWith(() => policy);
    const sub = randomUUID();
    for (let i = 0; i < 2; i++) await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(200);
    await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(429);

    policy = { maxRequests: 10, timeUnit: 'minute' };
    const response = await request(app).get('/api/v1/thing').set('X-Test-Sub', sub);

    expect(response.status).toBe(200);
  });

  it('when the time unit becomes "second", a client limited per minute passes after a second', async () => {
    let policy: RateLimitPolicy = { maxRequests: 1, timeUnit: 'minute' };
    const app = appWith(() => policy);
    const sub = randomUUID();
    await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(200);
    await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(429);

    policy = { maxRequests: 1, timeUnit: 'second' };
    await request(app).get('/api/v1/thing').set('X-Test-Sub', sub);
    await new Promise((r) => setTimeout(r, 1_100));
    const response = await request(app).get('/api/v1/thing').set('X-Test-Sub', sub);

    expect(response.status).toBe(200);
  });

  it('when a path is excluded, its requests are neither counted nor refused', async () => {
    const app = appWith(fixed(1), ['/healthz']);
    const sub = randomUUID();

    const excluded = await Promise.all(
      Array.from({ length: 5 }, () => request(app).get('/healthz').set('X-Test-Sub', sub)),
    );
    const counted = await request(app).get('/api/v1/thing').set('X-Test-Sub', sub);

    expect(excluded.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(counted.status).toBe(200);
  });

  it('when the excluded path is spelled differently, the request is counted', async () => {
    const app = appWith(fixed(1), ['/healthz']);
    const sub = randomUUID();
    await request(app).get('/api/v1/thing').set('X-Test-Sub', sub).expect(200);

    const response = await request(app).get('/healthz/').set('X-Test-Sub', sub);

    expect(response.status).toBe(429);
  });

  it('when the request is not authenticated, it is not counted (nginx and the login budgets own those)', async () => {
    const app = appWith(fixed(1));

    const statuses = await Promise.all(
      Array.from({ length: 5 }, () => request(app).get('/api/v1/thing')),
    ).then((responses) => responses.map((r) => r.status));

    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });
});

describe('the per-client rate limit without Redis', () => {
  it('when Redis is unreachable, lets the request through uncounted (authentication stays fail-closed)', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    unreachable.on('error', () => undefined);
    let uncounted = 0;
    const app = express();
    app.use(fakeAuth);
    app.use(
      clientRateLimit({
        redis: unreachable,
        keyPrefix: prefix,
        policy: fixed(10),
        excludePaths: [],
        onUnavailable: () => uncounted++,
      }),
    );
    app.get('/api/v1/thing', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(problemHandler(logger));

    const response = await request(app).get('/api/v1/thing').set('X-Test-Sub', randomUUID());

    expect(response.status).toBe(200);
    expect(uncounted).toBe(1);
    unreachable.disconnect();
  });
});
