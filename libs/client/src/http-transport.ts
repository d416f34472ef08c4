import http from 'node:http';
import https from 'node:https';

/** One HTTP answer, body parsed as JSON when it is JSON. */
export interface HttpResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  /** Raw body text (empty for 204). */
  text: string;
}

/** Options of {@link createTransport}. */
export interface TransportOptions {
  /** e.g. `https://localhost:8443` or `http://127.0.0.1:4101`. */
  baseUrl: string;
  /** PEM of the CA to trust (the local stack's `.run/tls/ca.crt`). */
  ca?: string | Buffer;
  /** Source address to connect from: tests act as distinct clients (127.0.0.x). */
  localAddress?: string;
  /** Keep connections alive between requests (default true). */
  keepAlive?: boolean;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** A request description. */
export interface RequestOptions {
  body?: unknown;
  /** Sent as-is instead of JSON (with your own content-type header). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  token?: string;
}

/** Minimal HTTP(S) transport on node:http with keep-alive, source-address binding and a CA. */
export interface Transport {
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<HttpResponse<T>>;
  close(): void;
}

/** Builds a {@link Transport}. */
export function createTransport(options: TransportOptions): Transport {
  const base = new URL(options.baseUrl);
  const secure = base.protocol === 'https:';
  const agentOptions = {
    keepAlive: options.keepAlive ?? true,
    localAddress: options.localAddress,
    maxSockets: 64,
  };
  const agent = secure ? new https.Agent({ ...agentOptions, ca: options.ca }) : new http.Agent(agentOptions);
  const timeoutMs = options.timeoutMs ?? 30_000;

  return {
    request(method, path, req = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      let payload: string | Buffer | undefined = req.rawBody;
      if (payload === undefined && req.body !== undefined) {
        payload = JSON.stringify(req.body);
        headers['content-type'] ??= 'application/json';
      }
      if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
      if (req.token) headers.authorization = `Bearer ${req.token}`;
      const url = new URL(path, base);
      return new Promise((resolve, reject) => {
        const request = (secure ? https : http).request(
          url,
          { method, headers, agent, timeout: timeoutMs, localAddress: options.localAddress },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const type = String(res.headers['content-type'] ?? '');
              let body: unknown = text;
              if (/json/.test(type) && text.length > 0) {
                try {
                  body = JSON.parse(text);
                } catch {
                  body = text;
                }
              }
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as never, text });
            });
          },
        );
        request.on('timeout', () =>
          request.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)),
        );
        request.on('error', reject);
        request.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
