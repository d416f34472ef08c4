// The bootstrap's `settings` feature against real Postgres and Redis: the stored restart keys apply
// at start where the environment does not pin them, CORS answers preflights, and every
// authenticator's requireAuth carries the per-client limit.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createTestDatabase, type TestDatabase } from '@concord/db';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { storeSetting } from '../../../test/support/stored-setting';
import { revocationKeys } from '../src/auth/revocation-protocol';
import { baseEnvSchema, withBaseRules } from '../src/config/base-config';
import { createServiceApp } from '../src/http/service-app';
import type { ServiceParts } from '../src/service/service-context';
import { startService } from '../src/service/start-service';
import { loadConfigWithApiSettings } from '../src/settings/api-settings-config';
import { deleteRedisPrefix } from '../../../test/support/redis-prefix';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let db: TestDatabase;
let pool: Pool;
let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  pool = new Pool({ connectionString: db.url, max: 2 });
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  await pool.query('DELETE FROM settings');
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await pool.end();
  await db.drop();
});

async function testConfig(env: Record<string, string> = {}) {
  const prefix = `concord_test_${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  await redis.set(revocationKeys(prefix).epoch, 'test-epoch');
  return loadConfigWithApiSettings(
    withBaseRules(baseEnvSchema({ service: 'test', port: 0, metricsPort: 0 })),
    {
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      DATABASE_URL: db.url,
      REPLICA_ID: `settings-bootstrap-${prefix}`,
      LOG_LEVEL: 'silent',
      ...env,
    },
  );
}

/** Starts a service whose one route answers the client address the front resolved. */
async function start(env: Record<string, string> = {}) {
  return startService(await testConfig(env), {
    name: 'test-service',
    features: { settings: {} },
    build: (ctx): ServiceParts => ({
      app: createServiceApp(ctx.http, (app) => {
        app.get('/ip', (req, res) => {
          res.json({ ip: req.clientIp });
        });
      }),
    }),
  });
}

function get(port: number, path: string, headers: Record<string, string>, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('startService with the settings feature', () => {
  it('when TRUSTED_PROXIES is unset, the stored trusted_proxies decide whose X-Forwarded-For counts', async () => {
    await storeSetting(pool, { key: 'trusted_proxies', value: ['127.0.0.1/32'] });
    const running = await start();

    const res = await get(running.port, '/ip', { 'x-forwarded-for': '203.0.113.9' });
    await running.shutdown();

    expect(JSON.parse(res.body)).toEqual({ ip: '203.0.113.9' });
  });

  it('when TRUSTED_PROXIES is set, it wins over the stored trusted_proxies', async () => {
    await storeSetting(pool, { key: 'trusted_proxies', value: ['127.0.0.1/32'] });
    const running = await start({ TRUSTED_PROXIES: '127.0.0.2/32' });

    const res = await get(running.port, '/ip', { 'x-forwarded-for': '203.0.113.9' });
    await running.shutdown();

    expect(JSON.parse(res.body)).toEqual({ ip: '127.0.0.1' });
  });

  it('when an origin is stored in cors_allowed_origins, its preflight is answered before any route', async () => {
    await storeSetting(pool, { key: 'cors_allowed_origins', value: ['https://app.example'] });
    const running = await start();

    const res = await get(
      running.port,
      '/ip',
      { origin: 'https://app.example', 'access-control-request-method': 'GET' },
      'OPTIONS',
    );
    await running.shutdown();

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
  });
});
