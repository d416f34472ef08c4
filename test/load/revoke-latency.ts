import type { ConcordClient } from '@concord/client';
import type { RevokeResult } from './auth.results';
import { summarize } from './stats';

/** Options of {@link measureRevokeLatency}. */
export interface RevokeOptions {
  /** A client of the gateway (keep-alive, so TLS handshakes stay out of the timings). */
  client: ConcordClient;
  /** One client per auth replica, straight to its port (no nginx): where acceptance is checked. */
  direct: ConcordClient[];
  username: string;
  password: string;
  count: number;
  /**
   * Unmeasured logouts first. On a fresh stack the replica registry is younger than one lease, and
   * a revoke then waits the lease out by design (DESIGN.md section 4: an empty registry proves
   * nothing), which is not the propagation time this measures; the first warm-up absorbs that wait.
   */
  warmup: number;
  /** The whole loop gives up (and fails) after this long. */
  deadlineMs: number;
  progress(line: string): void;
}

/**
 * `count` sequential login → logout through the gateway, timing only the logout: login runs
 * argon2 (tens of ms) and is not what the goal is about. Logout answers 204 only once every
 * registered replica acknowledged the revocation, so its latency is the propagation time. Right
 * after each 204 (not timed) the revoked token goes to every replica at once, straight to its port:
 * any 2xx is a revoked token accepted after the 204, counted as a violation rather than thrown, so
 * the run reports how many there were. A fast logout that revoked nothing would show up there.
 */
export async function measureRevokeLatency(o: RevokeOptions): Promise<RevokeResult> {
  const samplesMs: number[] = [];
  const byReplica: Record<string, number> = {};
  const directStatuses: Record<string, number> = {};
  let violations = 0;
  const deadline = Date.now() + o.deadlineMs;
  const tag = `[revoke ${o.direct.length} replicas]`;
  // i < 1: the warm-ups, run exactly like the measured logouts.
  for (let i = 1 - o.warmup; i <= o.count; i++) {
    if (Date.now() > deadline)
      throw new Error(`revoke: only ${Math.max(0, i - 1)}/${o.count} logouts within ${o.deadlineMs} ms`);
    const { access_token: token } = await o.client.login(o.username, o.password);
    const t0 = performance.now();
    const res = await o.client.request('POST', '/api/v1/auth/logout', { token });
    const elapsed = performance.now() - t0;
    if (res.status !== 204) throw new Error(`revoke: logout answered ${res.status}: ${res.text}`);
    const answers = await Promise.all(o.direct.map((c) => c.request('GET', '/api/v1/auth/me', { token })));
    if (i < 1) {
      const accepted = answers.filter((a) => a.status >= 200 && a.status < 300).length;
      if (accepted > 0)
        throw new Error(`revoke: a warm-up's revoked token was accepted by ${accepted} replicas`);
      if (i === 0) o.progress(`${tag} ${o.warmup} warm-up logouts done, the last ${elapsed.toFixed(2)} ms`);
      continue;
    }
    samplesMs.push(elapsed);
    const replica = String(res.headers['x-concord-replica'] ?? 'unknown');
    byReplica[replica] = (byReplica[replica] ?? 0) + 1;
    for (const a of answers) {
      directStatuses[a.status] = (directStatuses[a.status] ?? 0) + 1;
      if (a.status >= 200 && a.status < 300) violations++;
    }
    if (i % 50 === 0 || i === o.count)
      o.progress(
        `${tag} ${i}/${o.count} logouts, last ${elapsed.toFixed(2)} ms, ${violations} accepted after 204`,
      );
  }
  return {
    replicas: o.direct.length,
    via: 'gateway (nginx TLS, keep-alive) → any replica; acceptance checked on every replica directly',
    samplesMs,
    summary: summarize(samplesMs),
    byReplica,
    directStatuses,
    violations,
  };
}
