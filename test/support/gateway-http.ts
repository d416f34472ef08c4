import http2 from 'node:http2';
import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import tls, { type TLSSocket } from 'node:tls';
import { Agent, request as undiciRequest } from 'undici';

/** The HTTP versions a client speaks to the gateway (nginx offers both over ALPN). */
export type HttpVersion = 'h2' | 'http/1.1';

/** One answer, the body parsed as JSON when it is JSON. */
export interface GatewayResponse<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
  text: string;
  /** The protocol the TLS connection negotiated (ALPN): proves which version carried the request. */
  protocol: string;
}

/** A request description. */
export interface GatewayRequest {
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  token?: string;
}

/** A client of the gateway over one HTTP version, with the local CA and a source address. */
export interface GatewayHttp {
  version: HttpVersion;
  request<T = unknown>(method: string, path: string, options?: GatewayRequest): Promise<GatewayResponse<T>>;
  close(): Promise<void>;
}

/** Options of {@link gatewayHttp}. */
export interface GatewayHttpOptions {
  /** `https://localhost:<port>`. */
  url: string;
  ca: string | Buffer;
  version: HttpVersion;
  /** Source address (tests act as distinct clients, 127.0.0.x). */
  localAddress?: string;
}

function requestHeaders(options: GatewayRequest): { headers: Record<string, string>; payload?: Buffer } {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let payload: Buffer | undefined = options.rawBody === undefined ? undefined : Buffer.from(options.rawBody);
  if (payload === undefined && options.body !== undefined) {
    payload = Buffer.from(JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return { headers, payload };
}

function parsed<T>(status: number, headers: IncomingHttpHeaders, text: string, protocol: string) {
  let body: unknown = text;
  if (/json/.test(String(headers['content-type'] ?? '')) && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status, headers, body: body as T, text, protocol };
}

/**
 * A TLS socket from `localAddress` (neither undici's connector nor node:http2 binds a source
 * address), offering only `alpn`.
 */
function tlsFrom(options: GatewayHttpOptions, alpn: string): TLSSocket {
  const url = new URL(options.url);
  return tls.connect({
    socket: net.connect({ host: url.hostname, port: Number(url.port), localAddress: options.localAddress }),
    servername: url.hostname,
    ca: options.ca,
    ALPNProtocols: [alpn],
  });
}

/** HTTP/1.1 through undici's Agent (ALPN offers only http/1.1). */
function http1Client(options: GatewayHttpOptions): GatewayHttp {
  let protocol = '';
  const agent = new Agent({
    allowH2: false,
    connect: (_opts, callback) => {
      const socket = tlsFrom(options, 'http/1.1');
      const fail = (err: Error) => callback(err, null);
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        socket.off('error', fail);
        // undici does not report the protocol per answer; the TLS socket of the connection does.
        protocol = socket.alpnProtocol || '';
        callback(null, socket);
      });
    },
  });
  return {
    version: 'http/1.1',
    async request<T>(method: string, path: string, req: GatewayRequest = {}) {
      const { headers, payload } = requestHeaders(req);
      const res = await undiciRequest(new URL(path, options.url), {
        method: method as 'GET',
        headers,
        body: payload,
        dispatcher: agent,
      });
      const text = await res.body.text();
      return parsed<T>(res.statusCode, res.headers as IncomingHttpHeaders, text, protocol);
    },
    close: () => agent.close(),
  };
}

/** HTTP/2 through node:http2 (one session, ALPN `h2` only: the connection fails rather than fall back). */
function http2Client(options: GatewayHttpOptions): GatewayHttp {
  let session: http2.ClientHttp2Session | undefined;
  const connect = () => {
    if (session && !session.closed && !session.destroyed) return session;
    session = http2.connect(options.url, { createConnection: () => tlsFrom(options, 'h2') });
    session.on('error', () => undefined);
    return session;
  };
  return {
    version: 'h2',
    request<T>(method: string, path: string, req: GatewayRequest = {}) {
      const s = connect();
      const { headers, payload } = requestHeaders(req);
      return new Promise<GatewayResponse<T>>((resolve, reject) => {
        const stream = s.request({ ':method': method, ':path': path, ...headers });
        const chunks: Buffer[] = [];
        let status = 0;
        let answer: IncomingHttpHeaders = {};
        stream.on('response', (h) => {
          status = Number(h[':status']);
          answer = h as IncomingHttpHeaders;
        });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          const protocol = s.alpnProtocol ?? '';
          resolve(parsed<T>(status, answer, Buffer.concat(chunks).toString('utf8'), protocol));
        });
        stream.end(payload);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!session || session.closed) return resolve();
        session.close(() => resolve());
      }),
  };
}

/** A gateway client speaking `version`. */
export function gatewayHttp(options: GatewayHttpOptions): GatewayHttp {
  return options.version === 'h2' ? http2Client(options) : http1Client(options);
}
