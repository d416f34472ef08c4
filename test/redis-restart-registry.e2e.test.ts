import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import type { E2eStack } from './support/e2e-stack';
import { waitFor } from './support/processes';
import type { PrivateRedis } from './support/private-redis';
import { startPrivateRedisStack, type PrivateRedisStack } from './support/private-redis-stack';
import { statusesOnEveryReplica } from './support/replica-probe';

// Long enough that replica B, paused through the whole restart, still believes its registration
// (half a lease) and its lease are valid when it wakes: the window of finding 5.
const LEASE_MS = 8_000;
const WAKE_PROBES = 4;
let redis: PrivateRedis;
let stack: E2eStack;
let env: PrivateRedisStack | undefined;

beforeAll(async () => {
  env = await startPrivateRedisStack({ leaseMs: LEASE_MS, ceo: 'registry.ceo' });
  ({ redis, stack } = env);
});
afterAll(async () => {
  await env?.cleanup();
});

describe('Redis restart while a replica is paused (the registry starts empty)', () => {
  it('a revoke through the recovered replica waits a lease, and the paused replica never answers 200 on SIGCONT', async () => {
    const victim = stack.client({ replica: 0 });
    await victim.login('registry.ceo', PASSWORD);
    const bystander = stack.client({ replica: 0 });
    await bystander.login('registry.ceo', PASSWORD);
    expect(await statusesOnEveryReplica(stack, victim.accessToken!)).toEqual([200, 200]);
    const paused = stack.replicas[1]!;
    // Warm keep-alive connections to B: requests written to them while B is stopped are read in
    // the same event-loop turn as the EOF of B's dead Redis sockets, before B's 'close' handlers
    // run (libuv runs close callbacks last), so B judges them on what it believed before the restart.
    const probeB = stack.client({ replica: 1 });
    const onB = () =>
      Promise.all(
        Array.from({ length: WAKE_PROBES }, () =>
          probeB.request('GET', '/api/v1/auth/me', { token: victim.accessToken }),
        ),
      );
    expect((await onB()).map((r) => r.status)).toEqual(Array(WAKE_PROBES).fill(200));

    paused.pause();
    let revoke: Awaited<ReturnType<typeof victim.request>>;
    let waitedMs: number;
    let onWake: ReturnType<typeof onB>;
    try {
      await redis.kill();
      await redis.start();
      // Replica A reconnects, re-seeds and re-registers; the registry then holds A alone.
      await waitFor(
        async () =>
          (
            await stack.client({ replica: 0 }).request('GET', '/api/v1/auth/me', {
              token: bystander.accessToken,
            })
          ).status === 200,
        20_000,
        () => `replica A did not recover after the restart:\n${stack.replicas[0]!.process.output()}`,
      );
      const started = performance.now();
      revoke = await victim.request('POST', '/api/v1/auth/logout', { token: victim.accessToken });
      waitedMs = performance.now() - started;
      onWake = onB();
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      paused.resume();
    }
    const onWakeStatuses = (await onWake).map((r) => r.status);
    process.stdout.write(
      `restart window: revoke ${revoke.status} after ${Math.round(waitedMs)} ms; paused replica on SIGCONT: ${onWakeStatuses.join(',')}\n`,
    );

    expect(revoke.status).toBe(204);
    expect(waitedMs).toBeGreaterThanOrEqual(LEASE_MS * 0.9);
    for (const status of onWakeStatuses) expect([401, 503]).toContain(status);
    await waitFor(
      async () => (await statusesOnEveryReplica(stack, victim.accessToken!)).every((s) => s === 401),
      20_000,
      () => `the paused replica did not catch up:\n${paused.process.output()}`,
    );
    expect(await statusesOnEveryReplica(stack, bystander.accessToken!)).toEqual([200, 200]);
  });
});
