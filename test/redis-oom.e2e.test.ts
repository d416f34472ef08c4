import type { ConcordClient } from '@concord/client';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import type { E2eStack } from './support/e2e-stack';
import type { PrivateRedis } from './support/private-redis';
import { startPrivateRedisStack, type PrivateRedisStack } from './support/private-redis-stack';
import { msUntil, statusesOnEveryReplica } from './support/replica-probe';

const LEASE_MS = 2_000;
/** Allowance on top of the lease for polling, scheduling and the two cores this machine shares. */
const MARGIN_MS = 1_500;
/** How long Redis refuses writes: longer than a lease, so only a mechanism without reconnects helps. */
const OUTAGE_MS = 3_000;
let redis: PrivateRedis;
let stack: E2eStack;
let env: PrivateRedisStack | undefined;

beforeAll(async () => {
  env = await startPrivateRedisStack({ leaseMs: LEASE_MS, ceo: 'oom.ceo' });
  ({ redis, stack } = env);
  await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
});
afterAll(async () => {
  await env?.cleanup();
});

/** Ids of the Redis connections the replicas hold, to prove that recovery needed no reconnect. */
async function replicaConnectionIds(): Promise<string[]> {
  const list = String(await redis.command('CLIENT', 'LIST'));
  return list
    .split('\n')
    .filter((line) => /name=auth-service-\d/.test(line))
    .map((line) => /id=(\d+)/.exec(line)![1]!)
    .sort();
}

/** The value of the series of `name` (whose labels include `label`, if given) in a scrape. */
function metric(scrape: string, name: string, label = ''): number {
  const line = scrape.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  if (!line) throw new Error(`no ${name}{${label}} in the scrape:\n${scrape}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function loggedIn(replica: number): Promise<ConcordClient> {
  const client = stack.client({ replica });
  await client.login('oom.ceo', PASSWORD);
  return client;
}

/** Until every replica in `replicas` refuses `token` as revoked (401), in ms. */
function msUntilRevokedOn(replicas: number[], token: string): Promise<number> {
  return msUntil(async () => {
    const statuses = await statusesOnEveryReplica(stack, token);
    return replicas.every((r) => statuses[r] === 401);
  }, 25_000);
}

describe('Redis out of memory (maxmemory 1, noeviction)', () => {
  it('a revoke answers 503 with committed: true and reaches every replica within one lease of writes returning, with no reconnect', async () => {
    const victim = await loggedIn(0);
    expect(await statusesOnEveryReplica(stack, victim.accessToken!)).toEqual([200, 200]);
    const connectionsBefore = await replicaConnectionIds();

    await redis.command('CONFIG', 'SET', 'maxmemory', '1');
    const revoke = await victim.request('POST', '/api/v1/auth/logout', { token: victim.accessToken });
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const duringOutage = await (await fetch(stack.replicas[1]!.metricsUrl)).text();
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    const appliedAfterMs = await msUntilRevokedOn([0, 1], victim.accessToken!);
    process.stdout.write(
      `OOM: revoke answered ${revoke.status} ${JSON.stringify(revoke.body)}; applied on both replicas ${appliedAfterMs} ms after writes returned\n`,
    );

    expect(revoke.status).toBe(503);
    expect(revoke.body).toMatchObject({ code: 8001, committed: true });
    expect(revoke.headers['retry-after']).toBeDefined();
    expect(appliedAfterMs).toBeLessThanOrEqual(LEASE_MS + MARGIN_MS);
    expect(await replicaConnectionIds()).toEqual(connectionsBefore);
    expect(metric(duringOutage, 'concord_revocations_pending')).toBeGreaterThanOrEqual(1);
    expect(metric(duringOutage, 'concord_outbox_lag_seconds')).toBeGreaterThan(1);
    expect(metric(duringOutage, 'concord_revocation_health', 'reason="unregistered"')).toBe(1);
    expect(metric(duringOutage, 'concord_revocation_health', 'reason="ok"')).toBe(0);
  });

  it('while Redis refuses writes, authenticated requests become 503 (registration can no longer be renewed)', async () => {
    const alive = await loggedIn(1);
    expect(await statusesOnEveryReplica(stack, alive.accessToken!)).toEqual([200, 200]);

    await redis.command('CONFIG', 'SET', 'maxmemory', '1');
    let refusedAfterMs: number;
    let bodies: unknown[];
    try {
      refusedAfterMs = await msUntil(
        async () => (await statusesOnEveryReplica(stack, alive.accessToken!)).every((s) => s === 503),
        10_000,
      );
      bodies = await Promise.all(
        stack.replicas.map(
          async (_, replica) =>
            (await stack.client({ replica }).request('GET', '/api/v1/auth/me', { token: alive.accessToken }))
              .body,
        ),
      );
    } finally {
      await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    }
    const healedAfterMs = await msUntil(
      async () => (await statusesOnEveryReplica(stack, alive.accessToken!)).every((s) => s === 200),
      10_000,
    );
    process.stdout.write(
      `OOM: every replica 503 after ${refusedAfterMs} ms; 200 again ${healedAfterMs} ms after\n`,
    );

    expect(refusedAfterMs).toBeLessThanOrEqual(LEASE_MS + MARGIN_MS);
    for (const body of bodies) expect(body).toMatchObject({ code: 8001, reason: 'unregistered' });
    expect(healedAfterMs).toBeLessThanOrEqual(LEASE_MS + MARGIN_MS);
  });

  // Last in the file: it kills replica A.
  it('the revoke still arrives when the replica that committed it is SIGKILLed while Redis refuses writes', async () => {
    const victim = await loggedIn(0);
    expect(await statusesOnEveryReplica(stack, victim.accessToken!)).toEqual([200, 200]);
    const committer = stack.replicas[0]!;

    await redis.command('CONFIG', 'SET', 'maxmemory', '1');
    const revoke = await victim.request('POST', '/api/v1/auth/logout', { token: victim.accessToken });
    const exited = new Promise((r) => committer.process.child.once('exit', r));
    committer.process.child.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
    const appliedAfterMs = await msUntil(
      async () =>
        (await stack.client({ replica: 1 }).request('GET', '/api/v1/auth/me', { token: victim.accessToken }))
          .status === 401,
      25_000,
    );
    process.stdout.write(
      `OOM + SIGKILL: revoke answered ${revoke.status}; applied on the survivor ${appliedAfterMs} ms after writes returned\n`,
    );

    expect(revoke.status).toBe(503);
    expect(revoke.body).toMatchObject({ code: 8001, committed: true });
    expect(appliedAfterMs).toBeLessThanOrEqual(LEASE_MS + MARGIN_MS);
  });
});
