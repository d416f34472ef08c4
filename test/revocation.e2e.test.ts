import type { ConcordClient } from '@concord/client';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from './support/e2e-stack';

const LEASE_MS = 2_000;
let stack: E2eStack;
let admin: ConcordClient;

beforeAll(async () => {
  stack = await startE2eStack({ authReplicas: 2, env: { REVOCATION_LEASE_MS: String(LEASE_MS) } });
  admin = stack.client();
  await admin.setup('revoke.ceo', PASSWORD);
  await admin.login('revoke.ceo', PASSWORD);
});
afterAll(async () => {
  await stack.cleanup();
});

interface Shot {
  replica: number;
  sentAt: number;
  status: number;
}

/** Sends the token to every replica in tight loops until `stop()`; bounded by `maxMs`. */
function hammer(token: string, maxMs: number) {
  const shots: Shot[] = [];
  let running = true;
  const deadline = Date.now() + maxMs;
  const loops = stack.replicas.flatMap((_, replica) =>
    [0, 1].map(async () => {
      const c = stack.client({ replica });
      while (running && Date.now() < deadline) {
        const sentAt = performance.now();
        const res = await c.request('GET', '/api/v1/auth/me', { token });
        shots.push({ replica, sentAt, status: res.status });
      }
    }),
  );
  return {
    shots,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('revocation across replicas', () => {
  it('after logout answers 204, no request with that token succeeds on any replica', async () => {
    const victim = stack.client();
    await victim.login('revoke.ceo', PASSWORD);
    const token = victim.accessToken!;
    const load = hammer(token, 15_000);
    await new Promise((r) => setTimeout(r, 500));

    const revokeSentAt = performance.now();
    const res = await victim.request('POST', '/api/v1/auth/logout', { token });
    const answeredAt = performance.now();
    await new Promise((r) => setTimeout(r, 1_000));
    await load.stop();

    expect(res.status).toBe(204);
    const before = load.shots.filter((s) => s.sentAt < revokeSentAt);
    const after = load.shots.filter((s) => s.sentAt > answeredAt);
    expect(before.filter((s) => s.status === 200).length).toBeGreaterThan(10);
    expect(new Set(after.map((s) => s.replica))).toEqual(new Set([0, 1]));
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((s) => s.status !== 401)).toEqual([]);
  });

  it('a paused replica: the 204 waits for the lease, and on SIGCONT the token gets 401 or 503, never 200', async () => {
    const victim = stack.client();
    await victim.login('revoke.ceo', PASSWORD);
    const token = victim.accessToken!;
    const paused = stack.replicas[1]!;
    const direct = stack.client({ replica: 1 });
    expect((await direct.request('GET', '/api/v1/auth/me', { token })).status).toBe(200);

    paused.pause();
    let res: Awaited<ReturnType<ConcordClient['request']>>;
    const started = performance.now();
    try {
      res = await stack.client({ replica: 0 }).request('POST', '/api/v1/auth/logout', { token });
    } finally {
      paused.resume();
    }
    const waited = performance.now() - started;
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        stack.client({ replica: 1 }).request('GET', '/api/v1/auth/me', { token }),
      ),
    );

    expect(res.status).toBe(204);
    expect(waited).toBeGreaterThanOrEqual(LEASE_MS * 0.9);
    for (const s of statuses) expect([401, 503]).toContain(s.status);
    // Once it has caught up on the channel, the paused replica refuses with 1002.
    await new Promise((r) => setTimeout(r, LEASE_MS));
    const later = await direct.request('GET', '/api/v1/auth/me', { token });
    expect(later.status).toBe(401);
    expect(later.body).toMatchObject({ code: 1002 });
  });

  it('revokes in a few milliseconds when every replica acknowledges', async () => {
    const durations: number[] = [];
    for (let i = 0; i < 10; i++) {
      const c = stack.client({ replica: i % 2 });
      await c.login('revoke.ceo', PASSWORD);
      const t0 = performance.now();
      await c.logout();
      durations.push(performance.now() - t0);
    }
    durations.sort((a, b) => a - b);
    // Generous bound: far below the lease, which is what a missing ack would cost.
    expect(durations[durations.length - 1]).toBeLessThan(LEASE_MS / 2);
  });

  it('a replica that dies without deregistering delays revokes by at most one lease, then no more', async () => {
    const dead = stack.replicas[1]!;
    const exited = new Promise((r) => dead.process.child.once('exit', r));
    dead.process.child.kill('SIGKILL');
    await exited;
    const survivor = stack.client({ replica: 0 });

    await survivor.login('revoke.ceo', PASSWORD);
    let t0 = performance.now();
    await survivor.logout();
    const firstWait = performance.now() - t0;
    await new Promise((r) => setTimeout(r, LEASE_MS + 500));
    await survivor.login('revoke.ceo', PASSWORD);
    t0 = performance.now();
    await survivor.logout();
    const laterWait = performance.now() - t0;

    expect(firstWait).toBeLessThan(LEASE_MS * 2);
    expect(laterWait).toBeLessThan(LEASE_MS / 2);
  });
});
