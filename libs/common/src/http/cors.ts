import cors from 'cors';
import type { RequestHandler } from 'express';

/** Options of {@link corsMiddleware}. */
export interface CorsOptions {
  /** `cors_allowed_origins`: serialized origins (`scheme://host[:port]`), compared exactly. */
  allowedOrigins: readonly string[];
}

/** What browsers may send cross-origin: the API's own request headers (preconditions, request id). */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id'];

/** What scripts of an allowed origin may read besides the CORS-safelisted response headers. */
const EXPOSED_HEADERS = ['ETag', 'Retry-After', 'X-Request-Id', 'Location'];

/** Browsers cache a preflight at most this long anyway (Chromium caps at 2 h). */
const MAX_AGE_SECONDS = 600;

/**
 * The `cors` middleware over `cors_allowed_origins` (a restart key), preflight included. An origin
 * is allowed only when it equals a configured one character for character: the Fetch standard's
 * serialized origin is what browsers send, so no parsing, suffix match or regex is involved and
 * `https://app.example.com.evil.test` or `null` never pass. Credentials are not allowed: Concord
 * authenticates with bearer tokens in `Authorization`, never cookies, so a page needs no ambient
 * credentials and `Access-Control-Allow-Credentials` is never sent. A refused origin gets no CORS
 * headers (the browser then withholds the response) and its preflight falls through to the routes.
 * Every answer carries `Vary: Origin`, so a shared cache never serves one origin's answer to another.
 */
export function corsMiddleware(options: CorsOptions): RequestHandler {
  const allowed = new Set(options.allowedOrigins);
  const grant = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
  });
  return (req, res, next) => {
    res.vary('Origin');
    // No Origin, no CORS: the library would ask the origin callback, be told no and call next();
    // servers and command-line clients (most of the traffic) skip that work.
    if (req.headers.origin === undefined) {
      next();
      return;
    }
    grant(req, res, next);
  };
}
