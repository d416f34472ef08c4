import { Agent, request, errors as undiciErrors } from 'undici';

/**
 * The load generator's HTTP side: one undici `Agent` per client source address, so nginx sees
 * distinct clients (its per-address limits and `hash $remote_addr` balancing act per address, as
 * they would for real users). undici rather than node:http because per-request cost is what limits
 * a generator on the same two cores as its target.
 *
 * The source address is the Agent's own `localAddress` option: undici 7's connector spreads
 * `connect: {…}` first and then sets `localAddress` from the client option (null by default), so
 * `connect: { localAddress }` is silently overridden and every request leaves from 127.0.0.1.
 */

/** One answer; the body is parsed as JSON when it says it is JSON. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One request. */
export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Which source address to use (any integer; taken modulo the number of addresses). */
  source?: number;
  signal?: AbortSignal;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Origin of the gateway, e.g. `https://127.0.0.1:8443`. */
  origin: string;
  /** Addresses to connect from; `[undefined]` lets the OS choose. */
  sources: (string | undefined)[];
  /** PEM of the CA to trust. */
  ca?: string;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Connections per source address (undici pool size). */
  connectionsPerSource: number;
}

/** The client; `close` ends every connection. */
export interface HttpClient {
  send(call: HttpCall): Promise<HttpAnswer>;
  sourceCount: number;
  close(): Promise<void>;
}

/** Builds an {@link HttpClient}. */
export function createHttpClient(o: HttpClientOptions): HttpClient {
  const agents = o.sources.map(
    (localAddress) =>
      new Agent({
        connections: o.connectionsPerSource,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        ...(localAddress ? { localAddress } : {}),
        connect: { ca: o.ca, timeout: o.timeoutMs },
      }),
  );
  return {
    sourceCount: agents.length,
    async send(call) {
      const agent = agents[(call.source ?? 0) % agents.length]!;
      const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
      let body: string | undefined;
      if (call.body !== undefined) {
        body = JSON.stringify(call.body);
        headers['content-type'] ??= 'application/json';
      }
      if (call.token) headers.authorization = `Bearer ${call.token}`;
      const res = await request(new URL(call.path, o.origin), {
        method: call.method,
        headers,
        body,
        dispatcher: agent,
        signal: call.signal,
      });
      const text = await res.body.text();
      const type = String(res.headers['content-type'] ?? '');
      let parsed: unknown = text;
      if (/json/.test(type) && text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text; // kept raw: the caller's check reports the unexpected body
        }
      }
      return { status: res.statusCode, headers: res.headers, body: parsed };
    },
    async close() {
      await Promise.all(agents.map((a) => a.close()));
    },
  };
}

/** A short, stable name for a failure, used as the error kind in reports. */
export function errorKind(err: unknown): string {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return 'timeout';
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) return 'connect timeout';
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  const code = (err as { code?: unknown; cause?: { code?: unknown } })?.code;
  const causeCode = (err as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof causeCode === 'string') return causeCode;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'error';
}

/** `http 401 SESSION_REVOKED` style kind of an unexpected answer (problem code when there is one). */
export function statusKind(answer: HttpAnswer): string {
  const problem = answer.body as { error?: unknown } | undefined;
  const name =
    typeof problem === 'object' && problem && typeof problem.error === 'string' ? ` ${problem.error}` : '';
  return `http ${answer.status}${name}`;
}
