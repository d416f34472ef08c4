import type { ServerResponse } from 'node:http';

/**
 * Writes `body` as JSON (status as already set, 200 by default) without Express's `res.json`, for
 * two reasons. Express's `res.send` turns a GET into 304 by itself whenever its `fresh` check
 * passes, and that check treats `If-None-Match: *` as always fresh: preconditions are the service's
 * decision (a settings key at its default does not match `*`), so they must not be re-judged. And
 * `res.send` parses and re-formats the Content-Type and runs its ETag and freshness logic on every
 * answer, which measured about 4 µs a request on `GET /me`. HEAD gets the headers only (Node drops
 * the body of a HEAD answer).
 */
export function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
