import express from 'express';
import request from 'supertest';
import { corsMiddleware } from '../src/http/cors';

const ALLOWED = 'https://app.example.com';

function app() {
  const server = express();
  server.use(corsMiddleware({ allowedOrigins: [ALLOWED, 'http://localhost:5173'] }));
  server.get('/api/v1/thing', (_req, res) => {
    res.setHeader('ETag', '"1"');
    res.json({ ok: true });
  });
  return server;
}

function preflight(origin: string) {
  return request(app())
    .options('/api/v1/thing')
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'PUT')
    .set('Access-Control-Request-Headers', 'authorization, content-type, if-match');
}

describe('CORS', () => {
  it('when an allowed origin sends a preflight, answers 204 allowing the method and headers', async () => {
    const response = await preflight(ALLOWED);

    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(response.headers['access-control-allow-methods']).toContain('PUT');
    expect(response.headers['access-control-allow-headers']?.toLowerCase()).toContain('if-match');
    expect(response.headers['access-control-allow-headers']?.toLowerCase()).toContain('authorization');
    expect(Number(response.headers['access-control-max-age'])).toBeGreaterThan(0);
  });

  it('when an allowed origin sends a preflight, does not allow credentials (bearer tokens, no cookies)', async () => {
    const response = await preflight(ALLOWED);

    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it.each([
    ['a look-alike suffix', 'https://app.example.com.evil.test'],
    ['a look-alike prefix', 'https://evilapp.example.com'],
    ['another scheme', 'http://app.example.com'],
    ['another port', 'https://app.example.com:8443'],
    ['a trailing slash', 'https://app.example.com/'],
    ['the opaque origin', 'null'],
    ['a different case', 'https://APP.example.com'],
  ])('when %s sends a preflight, allows nothing', async (_what, origin) => {
    const response = await preflight(origin);

    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('when an allowed origin sends a request, the answer allows it and exposes ETag', async () => {
    const response = await request(app()).get('/api/v1/thing').set('Origin', ALLOWED);

    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(response.headers['access-control-expose-headers']?.toLowerCase()).toContain('etag');
  });

  it('when a refused origin sends a request, the answer carries no CORS grant but Vary: Origin', async () => {
    const response = await request(app()).get('/api/v1/thing').set('Origin', 'https://evil.test');

    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    // A shared cache must not hand this answer to an allowed origin, nor an allowed one to this.
    expect(response.headers.vary).toMatch(/origin/i);
  });

  it('when the request has no Origin (not a browser), serves it without CORS headers', async () => {
    const response = await request(app()).get('/api/v1/thing');

    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});
