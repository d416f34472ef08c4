import { revocationKeys } from '@concord/common';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import type { E2eStack } from './support/e2e-stack';
import type { PrivateRedis } from './support/private-redis';
import { startPrivateRedisStack, type PrivateRedisStack } from './support/private-redis-stack';
import { statusesOnEveryReplica } from './support/replica-probe';

const LEASE_MS = 2_000;
/** Generous bound on healing: the heartbeat notices within a quarter lease, the re-seed takes a moment. */
const HEAL_BOUND_MS = 3 * LEASE_MS;
let redis: PrivateRedis;
let stack: E2eStack;
let env: PrivateRedisStack | undefined;

beforeAll(async () => {
  env = await startPrivateRedisStack({ leaseMs: LEASE_MS, ceo: 'flush.ceo' });
  ({ redis, stack } = env);
});
afterAll(async () => {
  await env?.cleanup();
});

describe('FLUSHALL under running replicas (live connections, every key gone)', () => {
  it('heals by itself: valid tokens work again on both replicas, revoked ones are refused throughout', async () => {
    const alive = stack.client({ replica: 0 });
    await alive.login('flush.ceo', PASSWORD);
    const revoked = stack.client({ replica: 1 });
    const revokedSid = (await revoked.login('flush.ceo', PASSWORD)).session.session_id;
    const revokedToken = revoked.accessToken!;
    await revoked.logout();
    expect(await statusesOnEveryReplica(stack, alive.accessToken!)).toEqual([200, 200]);
    expect(await statusesOnEveryReplica(stack, revokedToken)).toEqual([401, 401]);

    await redis.command('FLUSHALL');
    const flushedAt = performance.now();
    // Sampled well past one lease, so a healthy ending cannot be the old lease simply running on.
    const samples: { at: number; alive: number[]; revoked: number[] }[] = [];
    while (performance.now() - flushedAt < HEAL_BOUND_MS + LEASE_MS) {
      const [aliveNow, revokedNow] = await Promise.all([
        statusesOnEveryReplica(stack, alive.accessToken!),
        statusesOnEveryReplica(stack, revokedToken),
      ]);
      samples.push({ at: performance.now() - flushedAt, alive: aliveNow, revoked: revokedNow });
      await new Promise((r) => setTimeout(r, 50));
    }
    const lastUnhealthy = samples.findLastIndex((s) => s.alive.some((status) => status !== 200));
    const healedAfterMs =
      lastUnhealthy === samples.length - 1 ? Number.POSITIVE_INFINITY : (samples[lastUnhealthy]?.at ?? 0);
    const revokedStatuses = samples.flatMap((s) => s.revoked);
    process.stdout.write(
      `FLUSHALL: healthy for good ${Math.round(healedAfterMs)} ms after the flush; valid-token statuses: ${[...new Set(samples.flatMap((s) => s.alive))].join(',')}; revoked-token statuses: ${[...new Set(revokedStatuses)].join(',')}\n`,
    );
    expect(healedAfterMs).toBeLessThanOrEqual(HEAL_BOUND_MS);
    expect(revokedStatuses.length).toBeGreaterThan(10);
    expect(revokedStatuses.filter((s) => s === 200)).toEqual([]);
    expect(await statusesOnEveryReplica(stack, revokedToken)).toEqual([401, 401]);
    // Healed, not merely remembered: the snapshot was re-seeded from Postgres under a new epoch, so a
    // process starting now would refuse the token too.
    const keys = revocationKeys(stack.prefix);
    expect(await redis.command('ZSCORE', keys.snapshot, revokedSid)).not.toBeNull();
    expect(await redis.command('GET', keys.epoch)).not.toBeNull();
  });

  it('after the flush has healed, a revoke reaches both replicas before it answers', async () => {
    const victim = stack.client({ replica: 0 });
    await victim.login('flush.ceo', PASSWORD);
    expect(await statusesOnEveryReplica(stack, victim.accessToken!)).toEqual([200, 200]);

    const res = await victim.request('POST', '/api/v1/auth/logout', { token: victim.accessToken });

    expect(res.status).toBe(204);
    expect(await statusesOnEveryReplica(stack, victim.accessToken!)).toEqual([401, 401]);
  });
});
