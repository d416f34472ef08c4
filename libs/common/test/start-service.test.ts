// The shared service bootstrap against real Redis and Postgres: what every service's main.ts gets
// (listeners, readiness, metrics, the revocation cache) and the SIGTERM order it promises.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Redis } from 'ioredis';
import { revocationKeys } from '../src/auth/revocation-protocol';
import { baseEnvSchema, withBaseRules } from '../src/config/base-config';
import { loadConfig } from '../src/config/load-config';
import { createServiceApp } from '../src/http/service-app';
import type { ServiceContext, ServiceParts } from '../src/service/service-context';
import { startService } from '../src/service/start-service';
import { captureLogLines } from './support/log-capture';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Read-only use of the server's own database: the pool only has to connect.
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

/**
 * A config on a Redis prefix of the test's own, where an epoch exists (what auth-service would have
 * seeded), so the revocation cache loads and the process becomes ready.
 */
async function testConfig(overrides: Record<string, string> = {}) {
  const prefix = `concord_test_${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  await redis.set(revocationKeys(prefix).epoch, 'test-epoch');
  return loadConfig(withBaseRules(baseEnvSchema({ service: 'test-service', port: 0, metricsPort: 0 })), {
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DATABASE_URL,
    REPLICA_ID: `bootstrap-test-${prefix}`,
    SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

/** A GET that resolves with the status, or with the error code when no connection could be made. */
function get(port: number, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** An app with the shared front and the given extra routes. */
function appOf(ctx: ServiceContext, mount: Parameters<typeof createServiceApp>[1] = () => undefined) {
  return createServiceApp(ctx.http, mount);
}

describe('startService', () => {
  it('when started, serves the app, extra listeners and metrics on their own ports, ready once the snapshot is loaded', async () => {
    const config = await testConfig();
    const running = await startService(config, {
      name: 'test-service',
      features: {},
      build: (ctx): ServiceParts => ({
        app: appOf(ctx),
        listeners: [{ name: 'internal', app: appOf(ctx), port: 0 }],
      }),
    });
    try {
      const ports = [running.port, running.ports.internal!, running.metricsPort];

      const statuses = [
        await get(running.port, '/readyz'),
        await get(running.ports.internal!, '/readyz'),
        await get(running.metricsPort, '/metrics'),
      ];

      expect(new Set(ports).size).toBe(3);
      expect(statuses).toEqual([200, 200, 200]);
    } finally {
      await running.shutdown();
    }
  });

  it('reports the revocation cache on /metrics for every service', async () => {
    const running = await startService(await testConfig(), {
      name: 'test-service',
      features: {},
      build: (ctx) => ({ app: appOf(ctx) }),
    });
    try {
      const text = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();

      expect(text).toMatch(/concord_revoked_sessions\{[^}]*service="test-service"[^}]*\} 0/);
      expect(text).toMatch(/concord_revocation_health\{[^}]*reason="ok"[^}]*\} 1/);
    } finally {
      await running.shutdown();
    }
  });

  it('when asked for a database, hands the service a working pool', async () => {
    let answer: unknown;
    const running = await startService(await testConfig(), {
      name: 'test-service',
      features: { database: {} },
      async build(ctx) {
        answer = (await ctx.pool.query('SELECT 41 + 1 AS n')).rows[0].n;
        return { app: appOf(ctx) };
      },
    });
    await running.shutdown();

    expect(answer).toBe(42);
  });

  it('when no epoch exists yet, listens but is not ready', async () => {
    const config = await testConfig();
    await redis.del(revocationKeys(config.REDIS_PREFIX).epoch);
    const running = await startService(config, {
      name: 'test-service',
      features: {},
      build: (ctx) => ({ app: appOf(ctx) }),
    });
    try {
      expect(await get(running.port, '/readyz')).toBe(503);
      expect(await get(running.port, '/healthz')).toBe(200);
    } finally {
      await running.shutdown();
    }
  });
});

describe('startService shutdown (SIGTERM behaviour)', () => {
  it('turns readiness false, lets the in-flight request finish, then refuses connections', async () => {
    let release: () => void = () => undefined;
    const entered = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finish: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const running = await startService(await testConfig(), {
      name: 'test-service',
      features: {},
      build: (ctx) => ({
        app: appOf(ctx, (app) => {
          app.get('/slow', async (_req, res) => {
            release();
            await gate;
            res.json({ done: true });
          });
        }),
        listeners: [{ name: 'internal', app: appOf(ctx), port: 0 }],
      }),
    });
    const inFlight = get(running.port, '/slow');
    await entered;

    const stopped = running.shutdown();
    // The public port no longer accepts; the internal one (closed after it) still answers, not ready.
    const readyDuringDrain = await get(running.ports.internal!, '/readyz');
    finish();
    const status = await inFlight;
    await stopped;

    expect({ readyDuringDrain, status }).toEqual({ readyDuringDrain: 503, status: 200 });
    expect(await get(running.port, '/healthz')).toBe('ECONNREFUSED');
  });

  it("runs the service's drain during the HTTP drain, then its stop hooks in reverse order, then closes the clients", async () => {
    const order: string[] = [];
    let redisOpenInHook: boolean | undefined;
    const running = await startService(await testConfig(), {
      name: 'test-service',
      features: {},
      build(ctx) {
        ctx.onStop('first', () => order.push('stop first'));
        ctx.onStop('second', () => {
          order.push('stop second');
          redisOpenInHook = ctx.redis.commands.status === 'ready';
        });
        return {
          app: appOf(ctx),
          drain: async () => {
            order.push(`drain (draining=${String(ctx.isDraining())})`);
          },
        };
      },
    });

    await running.shutdown();

    expect(order).toEqual(['drain (draining=true)', 'stop second', 'stop first']);
    expect(redisOpenInHook).toBe(true);
  });

  it('when a stop hook fails, still runs the others and rejects once everything ran', async () => {
    const ran: string[] = [];
    const { lines, destination } = captureLogLines();
    const running = await startService(
      await testConfig({ LOG_LEVEL: 'info' }),
      {
        name: 'test-service',
        features: {},
        build(ctx) {
          ctx.onStop('healthy', () => ran.push('healthy'));
          ctx.onStop('broken', () => {
            throw new Error('hook failed');
          });
          return { app: appOf(ctx) };
        },
      },
      { logDestination: destination },
    );

    const outcome = await running.shutdown().then(
      () => 'resolved',
      (err: unknown) => (err as Error).message,
    );

    expect(outcome).toMatch(/1 shutdown step\(s\) failed/);
    expect(ran).toEqual(['healthy']);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutdown step failed', step: 'broken' }));
  });

  it('when called twice, shuts down once', async () => {
    let stops = 0;
    const running = await startService(await testConfig(), {
      name: 'test-service',
      features: {},
      build(ctx) {
        ctx.onStop('count', () => stops++);
        return { app: appOf(ctx) };
      },
    });

    await Promise.all([running.shutdown(), running.shutdown()]);

    expect(stops).toBe(1);
  });

  it('stops background parts and periodic tasks at shutdown', async () => {
    const events: string[] = [];
    let ticks = 0;
    const running = await startService(await testConfig(), {
      name: 'test-service',
      features: {},
      async build(ctx) {
        await ctx.background('consumer', {
          start: () => events.push('start'),
          stop: () => events.push('stop'),
        });
        ctx.every('tick', 20, async () => {
          ticks++;
        });
        return { app: appOf(ctx) };
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));

    await running.shutdown();
    const ticksAtStop = ticks;
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(events).toEqual(['start', 'stop']);
    expect(ticksAtStop).toBeGreaterThan(0);
    expect(ticks).toBe(ticksAtStop);
  });
});

describe('startService failures', () => {
  it('when the build fails, runs the stop hooks registered so far and rethrows', async () => {
    const stopped: string[] = [];

    const started = startService(await testConfig(), {
      name: 'test-service',
      features: {},
      build(ctx) {
        ctx.onStop('half-built part', () => stopped.push('half-built part'));
        throw new Error('wiring failed');
      },
    });

    await expect(started).rejects.toThrow('wiring failed');
    expect(stopped).toEqual(['half-built part']);
  });

  it('when an extra listener cannot bind, rejects and releases the public port', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    let publicPort = 0;
    try {
      const started = startService(await testConfig(), {
        name: 'test-service',
        features: {},
        build: (ctx) => {
          ctx.server.once('listening', () => {
            publicPort = (ctx.server.address() as { port: number }).port;
          });
          return { app: appOf(ctx), listeners: [{ name: 'internal', app: appOf(ctx), port: taken }] };
        },
      });

      await expect(started).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(publicPort).toBeGreaterThan(0);
      expect(await get(publicPort, '/healthz')).toBe('ECONNREFUSED');
    } finally {
      blocker.close();
    }
  });
});
