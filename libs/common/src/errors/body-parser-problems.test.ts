// Every failure body-parser documents (README, "Errors") must become a 4xx problem, never a 500.
// Each error here is produced by the real body-parser, not built by hand.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { jsonBody, problemHandler } from '../http/problem-middleware';
import { createLogger } from '../logging/logger';
import { toAppError } from './problem';

// The auth-service default (BODY_LIMIT_BYTES): 1001 short form fields fit under it.
const LIMIT = 16_384;

function appWith(parsers: RequestHandler[]) {
  const app = express();
  app.use((req, _res, next) => {
    req.id = 'test';
    next();
  });
  app.post('/', ...parsers, (_req, res) => {
    res.status(204).end();
  });
  app.use(problemHandler(createLogger({ level: 'silent', service: 'test', replicaId: 'test' })));
  return app;
}

/** A hand-fed request stream, for the failures no real client can cause. */
interface FakeRequest {
  headers: Record<string, string>;
  /** Runs before the parser sees the stream. */
  prepare?: (req: Readable) => Promise<void> | void;
  /** Runs once the parser is reading. */
  feed: (req: Readable) => void;
}

function end(req: Readable, body: string): void {
  req.push(body);
  req.push(null);
}

/** Runs `parser` on a fake request and returns what it passed to `next`. */
async function parserError(parser: RequestHandler, fake: FakeRequest): Promise<unknown> {
  // A plain Readable: on-finished then cannot tell whether it finished, so body-parser reads it.
  const req = Object.assign(new Readable({ read: () => undefined }), {
    headers: fake.headers,
    method: 'POST',
    url: '/',
  });
  await fake.prepare?.(req);
  return new Promise((resolve) => {
    (parser as unknown as (req: unknown, res: unknown, next: (err?: unknown) => void) => void)(
      req,
      {},
      resolve,
    );
    fake.feed(req);
  });
}

/**
 * One POST over a real socket. (supertest's client mangles a gzip body on the way, so the zlib
 * error it provokes would hide the one under test.)
 */
function post(port: number, headers: Record<string, string>, body: string | Buffer) {
  return new Promise<{ status: number; type: string; body: Record<string, unknown> }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('body-parser failures through jsonBody', () => {
  const server = http.createServer(appWith(jsonBody(`${LIMIT}b`, { allowForm: true })));
  let port: number;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it.each<{
    name: string;
    headers: Record<string, string>;
    body: string | Buffer;
    status: number;
    code: number;
  }>([
    {
      name: 'parameters.too.many: a form with 1001 fields',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&'),
      status: 413,
      code: 2002,
    },
    {
      name: 'entity.too.large: a body over the limit',
      headers: { 'content-type': 'application/json' },
      body: `{"a":"${'x'.repeat(LIMIT)}"}`,
      status: 413,
      code: 2002,
    },
    {
      name: 'entity.parse.failed: JSON that does not parse',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
      status: 400,
      code: 2001,
    },
    {
      name: 'encoding.unsupported: an unknown Content-Encoding',
      headers: { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
      body: '{}',
      status: 415,
      code: 2004,
    },
    {
      name: 'charset.unsupported: a charset JSON cannot have',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      body: '{}',
      status: 415,
      code: 2004,
    },
    {
      name: 'a gzip Content-Encoding whose body is not gzip (zlib error, no type)',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not gzip at all',
      status: 400,
      code: 2001,
    },
    {
      name: 'entity.too.large: a gzip body that inflates beyond the limit',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(64 * LIMIT, ' ')),
      status: 413,
      code: 2002,
    },
  ])('when $name, answers a $status problem', async ({ headers, body, status, code }) => {
    const res = await post(port, headers, body);

    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code });
  });

  it('when the form has 1000 fields, accepts it (the limit is above it, not at it)', async () => {
    const body = Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join('&');
    const res = await post(port, { 'content-type': 'application/x-www-form-urlencoded' }, body);

    expect(res.status).toBe(204);
  });
});

describe('body-parser failures that no client can trigger through jsonBody', () => {
  const json = { 'content-type': 'application/json', 'content-length': '2' };
  const cases: Array<{ type: string; parser: RequestHandler; fake: FakeRequest }> = [
    {
      type: 'entity.verify.failed',
      parser: express.json({
        verify: () => {
          throw new Error('refused');
        },
      }),
      fake: { headers: json, feed: (req) => end(req, '{}') },
    },
    {
      type: 'querystring.parse.rangeError',
      // `depth` is a body-parser 2 option its typings do not list yet.
      parser: express.urlencoded({ extended: true, depth: 1 } as Parameters<typeof express.urlencoded>[0]),
      fake: {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '12' },
        feed: (req) => end(req, 'a[b][c][d]=1'),
      },
    },
    {
      type: 'request.size.invalid',
      parser: express.json(),
      fake: { headers: { ...json, 'content-length': '10' }, feed: (req) => end(req, '{}') },
    },
    {
      type: 'request.aborted',
      parser: express.json(),
      fake: {
        headers: { ...json, 'content-length': '10' },
        feed: (req) => {
          req.push('{');
          setImmediate(() => req.emit('aborted'));
        },
      },
    },
    {
      type: 'stream.encoding.set',
      parser: express.json(),
      fake: { headers: json, prepare: (req) => void req.setEncoding('utf8'), feed: (req) => end(req, '{}') },
    },
    {
      type: 'stream.not.readable',
      parser: express.json(),
      fake: {
        headers: json,
        // Another middleware already consumed the body.
        prepare: async (req) => {
          req.resume();
          end(req, '{}');
          await new Promise((resolve) => req.once('end', resolve));
        },
        feed: () => undefined,
      },
    },
  ];

  it.each(cases)(
    'when body-parser fails with $type, maps it to a 4xx problem',
    async ({ type, parser, fake }) => {
      const err = await parserError(parser, fake);

      expect(err).toMatchObject({ type });
      const { appError, expected } = toAppError(err);
      expect(expected).toBe(true);
      expect(appError.status).toBeGreaterThanOrEqual(400);
      expect(appError.status).toBeLessThan(500);
    },
  );
});
