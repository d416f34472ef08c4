import express from 'express';
import request from 'supertest';
import { AppError } from '../errors/app-error';
import { createLogger } from '../logging/logger';
import { methodNotAllowed, problemHandler } from './problem-middleware';

/** An app whose one route fails with `err`, behind the problem middleware. */
function failingWith(err: unknown) {
  const app = express();
  // Express's own body-hash ETags would hide whether the middleware sent one.
  app.set('etag', false);
  app.use((req, _res, next) => {
    req.id = 'req-1';
    next();
  });
  app.get('/thing', () => {
    throw err;
  });
  app.use(problemHandler(createLogger({ level: 'silent', service: 'test', replicaId: 'r1' })));
  return app;
}

describe('problem middleware: error data becomes headers and body members', () => {
  it('when a 429 carries a fractional wait, sends Retry-After in whole seconds and the same figure in the body', async () => {
    const app = failingWith(new AppError('RATE_LIMITED', 'slow down', { data: { retryAfterSeconds: 7.2 } }));

    const res = await request(app).get('/thing');

    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('8');
    expect(res.body).toMatchObject({ code: 5000, retry_after_seconds: 8 });
  });

  it('when a 503 says the write is committed, the body says so', async () => {
    const app = failingWith(
      new AppError('SERVICE_UNAVAILABLE', 'later', { data: { retryAfterSeconds: 1, committed: true } }),
    );

    const res = await request(app).get('/thing');

    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({ code: 8001, committed: true });
  });

  it('when a route refuses the method, sends Allow with HEAD next to GET', async () => {
    const app = express();
    app.use((req, _res, next) => {
      req.id = 'req-2';
      next();
    });
    app.all('/thing', methodNotAllowed(['GET', 'PUT']));
    app.use(problemHandler(createLogger({ level: 'silent', service: 'test', replicaId: 'r1' })));

    const res = await request(app).post('/thing');

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, PUT, HEAD');
    expect(res.body.allow).toEqual(['GET', 'PUT', 'HEAD']);
  });

  it('when a 412 carries the current entity tag, sends it as ETag and as the body member etag', async () => {
    const app = failingWith(new AppError('VERSION_CONFLICT', 'stale', { data: { etag: '"41"' } }));

    const res = await request(app).get('/thing');

    expect(res.status).toBe(412);
    expect(res.headers.etag).toBe('"41"');
    expect(res.body.etag).toBe('"41"');
  });

  it('when the data names a member the body already has, the body keeps its own', async () => {
    const app = failingWith(new AppError('FORBIDDEN', 'no', { data: { code: 1, status: 200 } }));

    const res = await request(app).get('/thing');

    expect(res.body).toMatchObject({ code: 1001, status: 403 });
  });

  it('when an error has no data, sends neither Retry-After nor Allow nor ETag', async () => {
    const app = failingWith(new AppError('RESOURCE_NOT_FOUND'));

    const res = await request(app).get('/thing');

    expect(res.status).toBe(404);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.headers.allow).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
  });
});

describe('problem middleware: the 401 challenge (RFC 6750 section 3)', () => {
  it('when the request carried no token, answers the bare Bearer challenge', async () => {
    const res = await request(failingWith(new AppError('UNAUTHORIZED'))).get('/thing');

    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('when a bearer token was refused, answers error="invalid_token"', async () => {
    const res = await request(failingWith(new AppError('UNAUTHORIZED')))
      .get('/thing')
      .set('Authorization', 'Bearer abc.def.ghi');

    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('when the token\'s session is revoked, answers error="invalid_token"', async () => {
    const res = await request(failingWith(new AppError('SESSION_REVOKED')))
      .get('/thing')
      .set('Authorization', 'Bearer abc.def.ghi');

    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('when the Authorization header is a malformed bearer credential, answers error="invalid_request"', async () => {
    const res = await request(failingWith(new AppError('UNAUTHORIZED')))
      .get('/thing')
      .set('Authorization', 'Bearer not a token');

    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_request"');
  });

  it('when the request used another scheme, answers the bare challenge', async () => {
    const res = await request(failingWith(new AppError('UNAUTHORIZED')))
      .get('/thing')
      .set('Authorization', 'Basic dXNlcjpwYXNz');

    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('when a valid token came with a wrong current password, does not call the token invalid', async () => {
    const res = await request(failingWith(new AppError('INVALID_CREDENTIALS')))
      .get('/thing')
      .set('Authorization', 'Bearer abc.def.ghi');

    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('when the answer is not a 401, sends no challenge', async () => {
    const res = await request(failingWith(new AppError('FORBIDDEN')))
      .get('/thing')
      .set('Authorization', 'Bearer abc.def.ghi');

    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});

describe('AppError payloads for Socket.IO', () => {
  it('carry the same data members as a problem body', () => {
    const err = new AppError('SERVICE_UNAVAILABLE', 'lease', {
      data: { retryAfterSeconds: 0.4, reason: 'lease-expired' },
    });

    expect(err.toPayload()).toEqual({
      code: 8001,
      error: 'SERVICE_UNAVAILABLE',
      detail: 'lease',
      retry_after_seconds: 1,
      reason: 'lease-expired',
    });
  });
});
