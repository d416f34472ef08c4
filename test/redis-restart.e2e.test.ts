import type { ConcordClient } from '@concord/client';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import type { E2eStack } from './support/e2e-stack';
import { waitFor } from './support/processes';
import type { PrivateRedis } from './support/private-redis';
import { startPrivateRedisStack, type PrivateRedisStack } from './support/private-redis-stack';
import { statusesOnEveryReplica } from './support/replica-probe';

const LEASE_MS = 2_000;
let redis: PrivateRedis;
let stack: E2eStack;
let env: PrivateRedisStack | undefined;

beforeAll(async () => {
  env = await startPrivateRedisStack({ leaseMs: LEASE_MS, ceo: 'redis.ceo' });
  ({ redis, stack } = env);
});
afterAll(async () => {
  await env?.cleanup();
});

describe('Redis restart (it keeps nothing on disk)', () => {
  it('keeps a revoked token refused on every replica, and answers 503 while no heartbeat arrives', async () => {
    const revoked = stack.client({ replica: 0 });
    const alive = stack.client({ replica: 1 });
    await revoked.login('redis.ceo', PASSWORD);
    await alive.login('redis.ceo', PASSWORD);
    const revokedToken = revoked.accessToken!;
    const aliveToken = alive.accessToken!;
    await revoked.logout();
    expect(await statusesOnEveryReplica(stack, revokedToken)).toEqual([401, 401]);
    expect(await statusesOnEveryReplica(stack, aliveToken)).toEqual([200, 200]);

    await redis.kill();
    // Sample for longer than a lease: nothing authenticated may be answered 200.
    const during: number[] = [];
    const outageEnds = Date.now() + LEASE_MS * 1.5;
    while (Date.now() < outageEnds) {
      during.push(
        ...(await statusesOnEveryReplica(stack, aliveToken)),
        ...(await statusesOnEveryReplica(stack, revokedToken)),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    await redis.start();
    const afterRestart: number[] = [];
    await waitFor(
      async () => {
        const s = await statusesOnEveryReplica(stack, aliveToken);
        afterRestart.push(...(await statusesOnEveryReplica(stack, revokedToken)));
        return s.every((x) => x === 200);
      },
      20_000,
      () =>
        `replicas did not recover after the Redis restart:\n${stack.replicas.map((r) => r.process.output()).join('\n')}`,
    );

    expect(during.length).toBeGreaterThan(8);
    expect(during.filter((s) => s === 200)).toEqual([]);
    expect(during.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(afterRestart.filter((s) => s === 200)).toEqual([]);
    expect(await statusesOnEveryReplica(stack, revokedToken)).toEqual([401, 401]);
    const body = (
      await stack.client({ replica: 1 }).request('GET', '/api/v1/auth/me', { token: revokedToken })
    ).body;
    expect(body).toMatchObject({ code: 1002 });
  });

  it('a revocation committed while Redis is down answers 503 and is published by the re-seed', async () => {
    const victim: ConcordClient = stack.client({ replica: 0 });
    await victim.login('redis.ceo', PASSWORD);
    const token = victim.accessToken!;

    await redis.kill();
    // RFC 7009 revocation needs no access-token check, so it reaches Postgres during the outage.
    const during = await stack.client({ replica: 0 }).request('POST', '/api/v1/auth/revoke', {
      body: { token: victim.refreshToken, token_type_hint: 'refresh_token' },
    });
    await redis.start();
    await waitFor(
      async () =>
        (await stack.client({ replica: 1 }).request('GET', '/healthz')).status === 200 &&
        (await statusesOnEveryReplica(stack, token)).every((s) => s === 401),
      20_000,
      () => 'the revocation made during the outage was not re-seeded',
    );

    expect(during.status).toBe(503);
    expect(during.body).toMatchObject({ code: 8001 });
    expect(during.headers['retry-after']).toBeDefined();
    expect(
      (await stack.client({ replica: 1 }).request('GET', '/api/v1/auth/me', { token })).body,
    ).toMatchObject({
      code: 1002,
    });
  });
});
