import { Router, type RequestHandler } from 'express';
import request from 'supertest';
import { createLogger } from '../logging/logger';
import { methodNotAllowed, notFoundHandler, problemHandler } from './problem-middleware';
import { AppError } from '../errors/app-error';
import { createExpressApp, createRouter, series } from './service-app';

const ok: RequestHandler = (req, res) => {
  res.json({ route: `${req.baseUrl}${String(req.route?.path)}`, query: req.query });
};

/** A service shaped like auth-service: app routes, a mounted router, 404 and problem handlers. */
function service(router = createRouter()) {
  const app = createExpressApp();
  app.use((req, _res, next) => {
    req.id = 'test';
    next();
  });
  app.get('/healthz', ok);
  router
    .route('/me')
    .get(ok)
    .all(methodNotAllowed(['GET']));
  router
    .route('/login')
    .post(ok)
    .all(methodNotAllowed(['POST']));
  router
    .route('/sessions/:id')
    .delete(ok)
    .all(methodNotAllowed(['DELETE']));
  app.use('/api/v1/auth', router);
  app.use(notFoundHandler);
  app.use(problemHandler(createLogger({ level: 'silent', service: 'test', replicaId: 'test' })));
  return app;
}

describe('createRouter and createExpressApp', () => {
  const app = service();

  it('when the path is exact, routes to the handler', async () => {
    const res = await request(app).post('/api/v1/auth/login');

    expect(res.status).toBe(200);
    expect(res.body.route).toBe('/api/v1/auth/login');
  });

  it.each(['/api/v1/auth/Login', '/api/v1/auth/LOGIN', '/api/v1/Auth/login', '/API/v1/auth/login'])(
    'when a path segment differs in case (%s), answers 404',
    async (path) => {
      const res = await request(app).post(path);

      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 3000, error: 'RESOURCE_NOT_FOUND' });
    },
  );

  it.each(['/api/v1/auth/login/', '/api/v1/auth//login', '/api/v1/auth/sessions/abc/'])(
    'when the path has an extra slash (%s), answers 404',
    async (path) => {
      const res = await request(app).post(path);

      expect(res.status).toBe(404);
    },
  );

  it.each(['/HEALTHZ', '/healthz/'])(
    'applies exact paths to app-level routes too (%s is 404)',
    async (path) => {
      expect((await request(app).get(path)).status).toBe(404);
    },
  );

  it('when HEAD asks for a GET route, answers it like GET without a body', async () => {
    const res = await request(app).head('/api/v1/auth/me');

    expect(res.status).toBe(200);
    expect(res.text).toBeUndefined();
  });

  it('when HEAD asks for a POST-only route, answers 405 with Allow', async () => {
    const res = await request(app).head('/api/v1/auth/login');

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('when the method is not the route one, answers 405 listing GET and HEAD for a GET route', async () => {
    const res = await request(app).post('/api/v1/auth/me');

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body).toMatchObject({ code: 2003, error: 'METHOD_NOT_ALLOWED' });
  });

  it('when a spelling is not the route, answers 404 rather than 405 (nothing matched)', async () => {
    expect((await request(app).get('/api/v1/auth/Me')).status).toBe(404);
  });

  it('sends neither X-Powered-By nor an automatic ETag', async () => {
    const res = await request(app).get('/api/v1/auth/me');

    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
  });

  it('parses the query string flat: a[b]=1 is the key "a[b]"', async () => {
    const res = await request(app).get('/api/v1/auth/me?a[b]=1');

    expect(res.body.query).toEqual({ 'a[b]': '1' });
  });

  it("with Express's default Router instead, /Login and /login/ reach the handler (why the factory exists)", async () => {
    const loose = service(Router());

    expect((await request(loose).post('/api/v1/auth/Login')).status).toBe(200);
    expect((await request(loose).post('/api/v1/auth/login/')).status).toBe(200);
  });
});

describe('series', () => {
  /** An app whose one front layer is `series(handlers)`, answering what the handlers recorded. */
  function front(handlers: RequestHandler[]) {
    const app = createExpressApp();
    app.use(
      series([
        (req, _res, next) => {
          req.id = 'test';
          next();
        },
        ...handlers,
      ]),
    );
    app.get('/x', (_req, res) => {
      res.json({ seen: res.locals.seen ?? [] });
    });
    app.use(notFoundHandler);
    app.use(problemHandler(createLogger({ level: 'silent', service: 'test', replicaId: 'test' })));
    return app;
  }
  const record =
    (name: string): RequestHandler =>
    (_req, res, next) => {
      res.locals.seen = [...((res.locals.seen as string[] | undefined) ?? []), name];
      next();
    };

  it('runs every handler in order, then the routes', async () => {
    const res = await request(front([record('a'), record('b')])).get('/x');

    expect(res.body).toEqual({ seen: ['a', 'b'] });
  });

  it('treats next(null) as "go on", as Express does', async () => {
    const res = await request(front([(_req, _res, next) => next(null), record('after')])).get('/x');

    expect(res.body).toEqual({ seen: ['after'] });
  });

  it.each([
    ['passed to next', ((_req, _res, next) => next(new AppError('FORBIDDEN'))) as RequestHandler],
    [
      'thrown',
      (() => {
        throw new AppError('FORBIDDEN');
      }) as RequestHandler,
    ],
    ['a rejected promise', (async () => Promise.reject(new AppError('FORBIDDEN'))) as RequestHandler],
  ])('when a handler fails (%s), skips the rest and answers the problem', async (_how, failing) => {
    const res = await request(front([failing, record('never')])).get('/x');

    expect(res.status).toBe(403);
    expect(res.body.code).toBe(1001);
  });
});
