import type { ConcordClient } from '@concord/client';
import type { RevokeResult } from './auth.results';
import { summarize } from './stats';

/** Options of {@link measureRevokeLatency}. */
export interface RevokeOptions {
  /** A client of the gateway (keep-alive, so TLS handshakes stay out of the timings). */
  client: ConcordClient;
  username: string;
  password: string;
  count: number;
  /** The whole loop gives up (and fails) after this long. */
  deadlineMs: number;
  progress(line: string): void;
}

/**
 * `count` sequential login → logout through the gateway, timing only the logout: login runs
 * argon2 (tens of ms) and is not what the goal is about. Logout answers 204 only once every
 * registered replica acknowledged the revocation, so its latency is the propagation time. After
 * each logout the token must be refused (not timed): a fast logout that revoked nothing would
 * otherwise look like a win.
 */
export async function measureRevokeLatency(o: RevokeOptions): Promise<RevokeResult> {
  const samplesMs: number[] = [];
  const byReplica: Record<string, number> = {};
  const deadline = Date.now() + o.deadlineMs;
  for (let i = 1; i <= o.count; i++) {
    if (Date.now() > deadline)
      throw new Error(`revoke: only ${i - 1}/${o.count} logouts within ${o.deadlineMs} ms`);
    const { access_token: token } = await o.client.login(o.username, o.password);
    const t0 = performance.now();
    const res = await o.client.request('POST', '/api/v1/auth/logout', { token });
    const elapsed = performance.now() - t0;
    if (res.status !== 204) throw new Error(`revoke: logout answered ${res.status}: ${res.text}`);
    samplesMs.push(elapsed);
    const replica = String(res.headers['x-concord-replica'] ?? 'unknown');
    byReplica[replica] = (byReplica[replica] ?? 0) + 1;
    const after = await o.client.request('GET', '/api/v1/auth/me', { token });
    if (after.status !== 401) throw new Error(`revoke: the revoked token got ${after.status} instead of 401`);
    if (i % 50 === 0) o.progress(`[revoke] ${i}/${o.count} logouts, last ${elapsed.toFixed(2)} ms`);
  }
  return {
    via: 'gateway (nginx TLS, keep-alive) → either replica',
    samplesMs,
    summary: summarize(samplesMs),
    byReplica,
  };
}
