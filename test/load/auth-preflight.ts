import { ConcordClient } from '@concord/client';
import type { BaselineGateway } from './baseline-gateway';
import type { BenchStack } from './bench-stack';

/**
 * Before any load: through each gateway, /me must answer 200 (ours from every replica, the
 * baseline with its fixed body). wrk only counts non-2xx answers; this says which replica gave
 * what, and stops a wrong token or a replica in fail-closed 503 before a whole round is spent.
 */
export async function preflight(
  ours: BenchStack,
  baseline: BaselineGateway,
  token: string,
  replicas: number,
) {
  const client = ours.stack.client();
  const seen = new Set<string>();
  for (let i = 0; i < 10 * replicas && seen.size < replicas; i++) {
    const res = await client.request('GET', '/api/v1/auth/me', { token });
    if (res.status !== 200) throw new Error(`preflight: /me answered ${res.status}: ${res.text}`);
    seen.add(String(res.headers['x-concord-replica']));
  }
  if (seen.size < replicas) throw new Error(`preflight: only ${[...seen].join(', ')} answered`);
  const bare = new ConcordClient({ baseUrl: baseline.url, ca: baseline.caCert });
  try {
    const res = await bare.request('GET', '/api/v1/auth/me', { token });
    if (res.status !== 200 || res.text !== '{"ok":true}')
      throw new Error(`preflight: baseline answered ${res.status}`);
  } finally {
    bare.close();
  }
}
