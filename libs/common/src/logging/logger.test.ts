import express from 'express';
import request from 'supertest';
import { createClientIpResolver } from '../net/client-ip';
import { requestContext } from '../http/request-context';
import { observeRequests } from '../http/observe-requests';
import { captureLogLines as capture } from '../../test/support/log-capture';
import { createLogger } from './logger';

/** An app with the request context and logger in front of `route`. */
function appWith(logger: ReturnType<typeof createLogger>, path: string) {
  const app = express();
  app.use(
    requestContext({
      resolveClientIp: createClientIpResolver([]),
      replicaId: 'r1',
      exposeReplicaHeader: false,
    }),
  );
  app.use(observeRequests({ logger, slowRequestMs: 60_000 }));
  app.get(path, (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}

describe('logging', () => {
  it('redacts passwords, tokens, authorization and cookies wherever they are logged', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', service: 'test', replicaId: 'r1', destination });

    logger.info(
      {
        req: { headers: { authorization: 'Bearer secret-token', cookie: 'sid=secret-cookie' } },
        body: { password: 'secret-password', refresh_token: 'secret-refresh', token: 'secret-rfc7009' },
        access_token: 'secret-access',
      },
      'something happened',
    );

    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/secret-/);
    expect(lines[0]).toMatchObject({
      service: 'test',
      replica: 'r1',
      level: 'info',
      access_token: '[redacted]',
    });
  });

  describe('redacts secrets nested deeper than one level', () => {
    function logged(object: object): { text: string; line: Record<string, unknown> } {
      const { lines, destination } = capture();
      const logger = createLogger({ level: 'info', service: 'test', replicaId: 'r1', destination });
      logger.info(object, 'nested');
      return { text: JSON.stringify(lines), line: lines[0]! };
    }

    it('in objects two and three levels down', () => {
      const { text, line } = logged({
        outer: { inner: { token: 'secret-deep-token', kept: 'visible' } },
        a: { b: { c: { refresh_token: 'secret-deep-refresh', password: 'secret-deep-password' } } },
      });

      expect(text).not.toMatch(/secret-/);
      expect(line.outer).toEqual({ inner: { token: '[redacted]', kept: 'visible' } });
    });

    it('in arrays of objects', () => {
      const { text, line } = logged({
        sessions: [{ access_token: 'secret-array-1' }, { nested: [{ token: 'secret-array-2' }] }],
      });

      expect(text).not.toMatch(/secret-/);
      expect(line.sessions).toEqual([{ access_token: '[redacted]' }, { nested: [{ token: '[redacted]' }] }]);
    });

    it('in properties of error objects, top-level and nested, causes included', () => {
      const cause = Object.assign(new Error('inner'), { refresh_token: 'secret-cause-token' });
      const top = Object.assign(new Error('refresh failed', { cause }), { token: 'secret-error-token' });
      const nested = Object.assign(new Error('outer'), { request: { token: 'secret-nested-error' } });

      const { text, line } = logged({ err: top, context: { failure: nested } });

      expect(text).not.toMatch(/secret-/);
      expect(line.err).toMatchObject({ type: 'Error', token: '[redacted]' });
      expect(line.context).toEqual({ failure: { request: { token: '[redacted]' } } });
      expect(String((line.err as { message: string }).message)).toMatch(/^refresh failed/);
    });

    it('in headers logged under any key, whatever their case', () => {
      const { text } = logged({
        upstream: { headers: { Authorization: 'Bearer secret-upstream', Cookie: 'sid=secret-cookie-2' } },
      });

      expect(text).not.toMatch(/secret-/);
    });

    it('leaves the logged object itself unchanged', () => {
      const object = { outer: { inner: { token: 'kept-for-the-caller' } } };

      logged(object);

      expect(object.outer.inner.token).toBe('kept-for-the-caller');
    });
  });

  it('at debug, writes one JSON line per request with request_id and the path without its query string', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'debug', service: 'test', replicaId: 'r1', destination });
    const app = appWith(logger, '/thing');

    await request(app)
      .get('/thing?token=secret-in-query')
      .set('authorization', 'Bearer secret-header')
      .set('x-request-id', 'req-42')
      .expect(200);

    const entry = lines.find((l) => l.msg === 'request completed');
    expect(entry).toMatchObject({
      request_id: 'req-42',
      req: { method: 'GET', path: '/thing' },
      res: { status: 200 },
    });
    expect(JSON.stringify(lines)).not.toMatch(/secret-/);
  });

  it('replaces a malformed incoming request id instead of logging it', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'debug', service: 'test', replicaId: 'r1', destination });
    const app = appWith(logger, '/x');

    const res = await request(app).get('/x').set('x-request-id', 'bad id\twith spaces');

    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[0]!.request_id).toBe(res.headers['x-request-id']);
  });
});
