import type { Express } from 'express';
import request from 'supertest';
import { captureLogLines } from '../../test/support/log-capture';
import { AppError } from '../errors/app-error';
import { createLogger } from '../logging/logger';
import { createClientIpResolver } from '../net/client-ip';
import { createMetrics } from '../ops/metrics';
import { createServiceApp } from './service-app';

/** A service app at `level` whose log lines the test reads; `slowRequestMs` is the threshold under test. */
function service(level: string, slowRequestMs: number) {
  const { lines, destination } = captureLogLines();
  const logger = createLogger({ level, service: 'test', replicaId: 'r1', destination });
  const metrics = createMetrics('test', 'r1');
  const app: Express = createServiceApp(
    {
      logger,
      metrics,
      readiness: [],
      resolveClientIp: createClientIpResolver([]),
      replicaId: 'r1',
      exposeReplicaHeader: false,
      slowRequestMs,
      middleware: [],
    },
    (routes) => {
      routes.get('/fast', (_req, res) => {
        res.json({ ok: true });
      });
      routes.get('/slow', async (_req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        res.json({ ok: true });
      });
      routes.get('/outage', () => {
        throw new AppError('SERVICE_UNAVAILABLE', 'Redis is away', { data: { retryAfterSeconds: 1 } });
      });
      routes.get('/bug', () => {
        throw new Error('secret stack detail');
      });
      routes.get('/denied', () => {
        throw new AppError('FORBIDDEN', 'Your role may not do this');
      });
    },
  );
  // The line is written once the response is over; give the listener its turn.
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { app, lines, metrics, settle };
}

describe('request logging at info (DESIGN.md section 8: the access line is nginx’s)', () => {
  it('when a request is fast and succeeds, logs nothing', async () => {
    const s = service('info', 1_000);

    await request(s.app).get('/fast').expect(200);
    await s.settle();

    expect(s.lines).toEqual([]);
  });

  it('when a request takes longer than SLOW_REQUEST_MS, logs one slow-request line with its duration', async () => {
    const s = service('info', 50);

    await request(s.app).get('/slow').expect(200);
    await s.settle();

    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({ level: 'warn', msg: 'slow request', req: { path: '/slow' } });
    expect(s.lines[0]!.responseTime).toBeGreaterThanOrEqual(50);
  });

  it('when a request fails with an outage (503), logs one line with the code and detail', async () => {
    const s = service('info', 1_000);

    await request(s.app).get('/outage').expect(503);
    await s.settle();

    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({
      level: 'warn',
      msg: 'request failed',
      res: { status: 503 },
      code: 8001,
      detail: 'Redis is away',
    });
  });

  it('when a handler has a bug (500), logs one error line with the stack, and the client sees none of it', async () => {
    const s = service('info', 1_000);

    const res = await request(s.app).get('/bug').expect(500);
    await s.settle();

    expect(res.text).not.toContain('secret stack detail');
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({ level: 'error', msg: 'request failed', code: 8000 });
    expect(String((s.lines[0]!.err as { stack?: string }).stack)).toContain('secret stack detail');
  });

  it('when a request is refused (403), logs it as a security event with the code', async () => {
    const s = service('info', 1_000);

    await request(s.app).get('/denied').expect(403);
    await s.settle();

    expect(s.lines).toEqual([expect.objectContaining({ level: 'info', msg: 'request refused', code: 1001 })]);
  });

  it('when nothing matches (404), logs nothing: nginx has the status', async () => {
    const s = service('info', 1_000);

    await request(s.app).get('/nowhere').expect(404);
    await s.settle();

    expect(s.lines).toEqual([]);
  });
});

describe('request logging at debug', () => {
  it('logs exactly one line per request, whatever its outcome', async () => {
    const s = service('debug', 1_000);

    await request(s.app).get('/fast').expect(200);
    await request(s.app).get('/nowhere').expect(404);
    await request(s.app).get('/outage').expect(503);
    await request(s.app).get('/bug').expect(500);
    await s.settle();

    expect(s.lines.map((l) => [l.req && (l.req as { path: string }).path, l.msg])).toEqual([
      ['/fast', 'request completed'],
      ['/nowhere', 'request completed'],
      ['/outage', 'request failed'],
      ['/bug', 'request failed'],
    ]);
  });
});

describe('request metrics', () => {
  it('records the duration histogram by route template whatever the log level', async () => {
    const s = service('silent', 1_000);

    await request(s.app).get('/fast').expect(200);
    await s.settle();

    const text = await s.metrics.registry.metrics();
    expect(text).toMatch(
      /concord_http_request_duration_seconds_count\{[^}]*route="\/fast"[^}]*status="200"[^}]*\} 1/,
    );
  });
});
