import { isDeepStrictEqual } from 'node:util';
import { ConcordClient } from '@concord/client';
import type { BaselineGateway } from './baseline-gateway';
import type { BenchStack } from './bench-stack';

/** Options of {@link preflight}. */
export interface PreflightOptions {
  ours: BenchStack;
  baseline: BaselineGateway;
  /** The peer app's gateway, when this pass measures it. */
  peer?: BaselineGateway;
  /** The run's tokens (one user each); the first is the one compared across the sides. */
  tokens: readonly string[];
  replicas: number;
}

/** `token` with its signature's first character changed: well-formed, but no longer valid. */
export function tamperedToken(token: string): string {
  const dot = token.lastIndexOf('.');
  const c = token[dot + 1] === 'A' ? 'B' : 'A';
  return `${token.slice(0, dot + 1)}${c}${token.slice(dot + 2)}`;
}

/** GET /me through `gateway` with `token`. */
async function me(gateway: BaselineGateway, token: string) {
  const client = new ConcordClient({ baseUrl: gateway.url, ca: gateway.caCert });
  try {
    return await client.request('GET', '/api/v1/auth/me', { token });
  } finally {
    client.close();
  }
}

/**
 * Before any load: through each gateway, /me must answer 200 (ours from every replica and to every
 * token, the
 * baseline with its fixed body, the peer app with ours' body, and a 401 to a tampered token so it
 * is known to verify). wrk only counts non-2xx answers; this says which replica gave what, and
 * stops a wrong token or a replica in fail-closed 503 before a whole round is spent.
 */
export async function preflight(o: PreflightOptions): Promise<void> {
  const client = o.ours.stack.client();
  const [token] = o.tokens;
  if (!token) throw new Error('preflight: no token');
  for (const other of o.tokens.slice(1)) {
    const res = await client.request('GET', '/api/v1/auth/me', { token: other });
    if (res.status !== 200) throw new Error(`preflight: /me answered ${res.status}: ${res.text}`);
  }
  const seen = new Set<string>();
  let body: unknown;
  for (let i = 0; i < 10 * o.replicas && seen.size < o.replicas; i++) {
    const res = await client.request('GET', '/api/v1/auth/me', { token });
    if (res.status !== 200) throw new Error(`preflight: /me answered ${res.status}: ${res.text}`);
    seen.add(String(res.headers['x-concord-replica']));
    body = res.body;
  }
  if (seen.size < o.replicas) throw new Error(`preflight: only ${[...seen].join(', ')} answered`);
  const bare = await me(o.baseline, token);
  if (bare.status !== 200 || bare.text !== '{"ok":true}')
    throw new Error(`preflight: baseline answered ${bare.status}`);
  if (o.peer) {
    const peer = await me(o.peer, token);
    if (peer.status !== 200 || !isDeepStrictEqual(peer.body, body))
      throw new Error(
        `preflight: the peer app answered ${peer.status} ${peer.text}, ours ${JSON.stringify(body)}`,
      );
    const forged = await me(o.peer, tamperedToken(token));
    if (forged.status !== 401)
      throw new Error(`preflight: the peer app answered ${forged.status} to a tampered token`);
  }
}
