import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConcordClient } from '@concord/client';
import { startAllServicesStack, type AllServicesStack } from '../../support/all-services-stack';
import {
  crossServiceFlows,
  type CrossServiceFlows,
  type Member,
  type WatchedSocket,
} from '../../support/cross-service-flows';
import {
  startRedisCluster,
  type PrivateRedisCluster,
  type RedisClusterNode,
} from '../../support/redis-cluster';

// DESIGN.md section 9, issue 9 item 2: the whole stack on a Redis Cluster (three masters with one
// replica each; ioredis Cluster, sharded Socket.IO adapter, hash-tagged keys), the cross-service
// flows, then a master SIGKILLed under traffic, its replica promoted, and the revocation and
// presence checks again. `npm run rehearse -- redis-cluster` runs it in full (REHEARSAL=full);
// `npm test` (CI) runs the smoke plan. Figures: docs/operations.md "Redis Cluster".

const FULL = process.env.REHEARSAL === 'full';
const PLAN = FULL
  ? { mode: 'full', rounds: 3, sockets: 24, revokes: 12, paceMs: 10, settleMs: 10_000 }
  : { mode: 'smoke', rounds: 1, sockets: 6, revokes: 3, paceMs: 25, settleMs: 5_000 };
/** Generous bound on every wait (a busy 2-core machine); never a performance goal. */
const BOUND_MS = Number(process.env.TEST_REHEARSAL_BOUND_MS ?? 30_000);
/** cluster-node-timeout: a master unreachable this long is failed and its replica promoted. */
const NODE_TIMEOUT_MS = Number(process.env.REHEARSAL_CLUSTER_NODE_TIMEOUT_MS ?? 1_000);
/** The stack's revocation lease (the test harness default; production's is 10 s). */
const LEASE_MS = 2_000;

interface Sample {
  service: 'auth' | 'settings' | 'realtime';
  start: number;
  end: number;
  status: number;
}

/** What one failover cost, as measured by the traffic loop and the checks after it. */
interface RoundFigures {
  round: number;
  killed: string;
  keys: string[];
  promotedAfterMs: number;
  perService: Record<
    string,
    { requests: number; ok: number; unavailable: number; other: number; windowMs: number }
  >;
  revocations: {
    issued: number;
    answered204: number;
    answered503Committed: number;
    retried: number;
    /** Statuses of the attempts that were retried (neither 204 nor a committed 503). */
    retriedStatuses: Record<string, number>;
    applied: number;
    socketsCut: number;
  };
  presence: {
    users: number;
    missingAtPromotion: number;
    missingAfterSettle: number;
    spuriousLeaves: number;
    socketsDropped: number;
  };
}

let cluster: PrivateRedisCluster;
let stack: AllServicesStack;
let flows: CrossServiceFlows;
/** One watcher per realtime replica, subscribed to settings, presence and `news`. */
let watchers: WatchedSocket[];
const figures: RoundFigures[] = [];
const startedAt = Date.now();

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: NODE_TIMEOUT_MS });
  stack = await startAllServicesStack({
    authReplicas: 2,
    settingsReplicas: 2,
    realtimeReplicas: 2,
    env: {
      REDIS_CLUSTER_NODES: cluster.seeds,
      SOCKETIO_ADAPTER: 'sharded',
      REVOCATION_LEASE_MS: String(LEASE_MS),
    },
  });
  flows = crossServiceFlows(stack, { boundMs: BOUND_MS });
  const watcher = await flows.member('w');
  watchers = [
    await flows.socket(0, watcher.token, ['settings', 'presence', 'news']),
    await flows.socket(1, watcher.token, ['settings', 'presence', 'news']),
  ];
}, 180_000);

afterAll(async () => {
  flows?.close();
  await stack?.cleanup();
  await cluster?.cleanup();
  if (figures.length === 0) return;
  // The figures for docs/operations.md, where the rehearsal's results are recorded by hand.
  const report = {
    mode: PLAN.mode,
    wallMs: Date.now() - startedAt,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    leaseMs: LEASE_MS,
    plan: PLAN,
    rounds: figures,
  };
  const dir = path.resolve(__dirname, '../../../.run/rehearsals');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `redis-cluster-${PLAN.mode}.json`), `${JSON.stringify(report, null, 2)}\n`);
  // The auth replicas' last log lines (warn and above), for a failed or surprising round.
  for (const r of stack?.auth.replicas ?? []) {
    writeFileSync(path.join(dir, `redis-cluster-${PLAN.mode}-${r.id}.log`), r.process.output());
  }
  process.stdout.write(`redis-cluster rehearsal (${PLAN.mode}): ${JSON.stringify(report)}\n`);
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cross-service checks, run on the healthy cluster and again after every failover. */
async function crossServiceChecks(): Promise<void> {
  await flows.settingsWriteReaches(watchers);
  await flows.messageReaches(watchers, 'news');
  await flows.logoutIsRefusedEverywhere(1);
  await flows.presenceJoinLeave(watchers[0]!, 1);
  await flows.presenceJoinLeave(watchers[1]!, 0);
}

describe(`the stack on a Redis Cluster (${PLAN.mode})`, () => {
  it('runs every service on the cluster: login through the gateway, token accepted everywhere', async () => {
    const m = await flows.member();

    expect(await flows.acceptedBy(m.token)).toHaveLength(
      stack.auth.replicas.length + stack.settings.length + stack.realtime.length,
    );
    expect(await m.client.me()).toMatchObject({ username: m.username, session_id: m.sessionId });
  });

  it('a settings write with If-Match reaches settings subscribers on both realtime replicas', async () => {
    await expect(flows.settingsWriteReaches(watchers)).resolves.toMatch(/^"\d+"$/);
  });

  it('a message published through the gateway reaches sockets on both replicas (sharded adapter)', async () => {
    await expect(flows.messageReaches(watchers, 'news')).resolves.toBeUndefined();
  });

  it('a logout is refused by every replica of every service and cuts that session’s socket', async () => {
    await expect(flows.logoutIsRefusedEverywhere(1)).resolves.toBeUndefined();
  });

  it('presence: a join on one replica and its leave are seen on the other', async () => {
    await expect(flows.presenceJoinLeave(watchers[0]!, 1)).resolves.toBeUndefined();
  });

  for (let round = 1; round <= PLAN.rounds; round++) {
    it(`failover ${round}: a master SIGKILLed under traffic, its replica takes over, revocations all applied, presence whole`, async () => {
      const f = await failoverRound(round);
      figures.push(f);

      expect(f.promotedAfterMs).toBeGreaterThan(0);
      expect(f.revocations.applied).toBe(f.revocations.issued);
      expect(f.revocations.socketsCut).toBe(f.revocations.issued);
      expect(f.presence.missingAfterSettle).toBe(0);
      expect(f.presence.socketsDropped).toBe(0);
      for (const s of Object.values(f.perService)) expect(s.other).toBe(0);
    }, 240_000);

    it(`after failover ${round}: the cross-service checks pass again`, async () => {
      await expect(crossServiceChecks()).resolves.toBeUndefined();
    }, 120_000);
  }
});

/** The master to kill in `round`: the revocation shard first, then presence, then login. */
async function victim(round: number): Promise<{ node: RedisClusterNode; keys: string[] }> {
  const tags = ['{revocation}', '{presence}', '{login}'];
  const view = await cluster.view();
  const withReplica = (n: RedisClusterNode) => view.some((x) => x.masterId === n.id && !x.failed);
  const owners = await Promise.all(tags.map((t) => cluster.masterFor(`${stack.auth.prefix}${t}:x`)));
  const preferred = [...owners.slice(round - 1), ...owners].find(withReplica);
  const node =
    preferred ??
    cluster.nodes.find(
      (n) =>
        n.alive() &&
        view.some((x) => x.id === n.id && x.role === 'master' && x.slots.length > 0) &&
        withReplica(n),
    );
  if (!node) throw new Error('no master with a replica is left to kill');
  return { node, keys: tags.filter((_, i) => owners[i] === node) };
}

/** Authenticated requests in a loop through the gateway, one loop per service, until `stopped()`. */
function trafficLoops(traffic: Member, ceo: ConcordClient, samples: Sample[], stopped: () => boolean) {
  const loop = async (service: Sample['service'], send: () => Promise<{ status: number }>) => {
    while (!stopped()) {
      const start = Date.now();
      let status = 0;
      try {
        status = (await send()).status;
      } catch {
        status = 0;
      }
      samples.push({ service, start, end: Date.now(), status });
      await sleep(PLAN.paceMs);
    }
  };
  return Promise.all([
    loop('auth', () => traffic.client.request('GET', '/api/v1/auth/me', { token: traffic.token })),
    loop('settings', () =>
      traffic.client.request('GET', '/api/v1/settings/bench/traffic', { token: traffic.token }),
    ),
    loop('realtime', () =>
      ceo.request('POST', '/api/v1/realtime/channels/traffic/messages', {
        token: ceo.accessToken,
        body: { event: 'tick', data: {} },
      }),
    ),
  ]);
}

/** A logout retried as a client would: again after a 503 that is not committed. */
async function revoke(m: Member, counts: RoundFigures['revocations']): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await m.client.request('POST', '/api/v1/auth/logout', { token: m.token });
    const body = res.body as { committed?: boolean } | undefined;
    if (res.status === 204) {
      counts.answered204++;
      return;
    }
    if (res.status === 503 && body?.committed === true) {
      counts.answered503Committed++;
      return;
    }
    if (res.status === 401 && attempt > 0) return; // an earlier attempt committed after all
    if (attempt > 50) throw new Error(`logout kept answering ${res.status}: ${res.text}`);
    counts.retried++;
    counts.retriedStatuses[res.status] = (counts.retriedStatuses[res.status] ?? 0) + 1;
    await sleep(200);
  }
}

function serviceFigures(samples: Sample[], service: Sample['service'], killedAt: number) {
  const mine = samples.filter((s) => s.service === service);
  // 503: the service refused (lease lost, Redis refused). 502: nginx's "no live upstreams", after a
  // GET's 503 on every replica marked each one failed (proxy_next_upstream http_503, max_fails 1)
  // for fail_timeout. Both are the failover's unavailability as a client sees it.
  const unavailable = mine.filter((s) => s.status === 503 || s.status === 502);
  const ok = mine.filter((s) => s.status >= 200 && s.status < 300).length;
  const windowMs =
    unavailable.length === 0
      ? 0
      : Math.max(...unavailable.map((s) => s.end)) - Math.min(...unavailable.map((s) => s.start));
  const statuses: Record<string, number> = {};
  for (const s of mine) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const lastBad = Math.max(killedAt, ...unavailable.map((s) => s.end));
  const firstGood = mine.find((s) => s.start >= lastBad && s.status >= 200 && s.status < 300);
  return {
    /** The slowest answer (a command waiting out ioredis's failover retries shows here). */
    maxLatencyMs: Math.max(0, ...mine.map((s) => s.end - s.start)),
    /** From the kill to the first success after the last unavailable answer. */
    recoveredAfterMs: firstGood ? firstGood.end - killedAt : -1,
    requests: mine.length,
    statuses,
    ok,
    unavailable: unavailable.length,
    other: mine.length - ok - unavailable.length,
    windowMs,
  };
}

async function presenceMissing(users: string[]): Promise<number> {
  const listed = await watchers[0]!.rt.presence();
  if (!listed.ok) return users.length;
  const online = new Set(listed.users.map((u) => u.user_id));
  return users.filter((u) => !online.has(u)).length;
}

async function failoverRound(round: number): Promise<RoundFigures> {
  const ceo = await flows.admin();
  const traffic = await flows.member('t');
  // Users online through the failover (one socket each, both replicas), and sessions to revoke
  // while it happens, each with a socket that must be cut.
  const online: WatchedSocket[] = [];
  const onlineUsers: string[] = [];
  for (let i = 0; i < PLAN.sockets; i++) {
    const m = await flows.member('o');
    online.push(await flows.socket(i % 2, m.token));
    onlineUsers.push(m.userId);
  }
  const doomed: { member: Member; socket: WatchedSocket }[] = [];
  for (let i = 0; i < PLAN.revokes; i++) {
    const m = await flows.member('d');
    doomed.push({ member: m, socket: await flows.socket(i % 2, m.token) });
  }
  await flows.until(
    async () => (await presenceMissing(onlineUsers)) === 0,
    () => 'presence did not list every online user before the failover',
  );
  const leavesBefore = watchers[0]!.leaves.length;
  const { node, keys } = await victim(round);
  const samples: Sample[] = [];
  let stop = false;
  const loops = trafficLoops(traffic, ceo, samples, () => stop);
  await sleep(500);

  const killedAt = Date.now();
  await node.kill();
  const revocations = {
    issued: doomed.length,
    answered204: 0,
    answered503Committed: 0,
    retried: 0,
    retriedStatuses: {},
    applied: 0,
    socketsCut: 0,
  };
  // Revokes spread over the failure: right after the kill, and every few hundred ms after it.
  const revoking = Promise.all(
    doomed.map(async (d, i) => {
      await sleep(i * 400);
      await revoke(d.member, revocations);
    }),
  );
  await cluster.waitForFailover(node, BOUND_MS);
  const promotedAfterMs = Date.now() - killedAt;
  const missingAtPromotion = await presenceMissing(onlineUsers).catch(() => onlineUsers.length);
  await revoking;
  await sleep(PLAN.settleMs);
  stop = true;
  await loops;

  // Every revocation applied everywhere (a 503-committed one through the outbox relay) and every
  // doomed socket cut; presence whole again (heartbeats re-assert what a lost write dropped).
  for (const d of doomed) {
    await flows
      .until(
        async () => (await flows.acceptedBy(d.member.token)).length === 0,
        () => `revoked session ${d.member.sessionId} still accepted`,
      )
      .then(
        () => revocations.applied++,
        () => undefined,
      );
    await flows
      .until(
        () => d.socket.revoked,
        () => '',
      )
      .then(
        () => revocations.socketsCut++,
        () => undefined,
      );
  }
  const missingAfterSettle = await flows
    .until(
      async () => (await presenceMissing(onlineUsers)) === 0,
      () => '',
    )
    .then(
      () => 0,
      () => presenceMissing(onlineUsers),
    );
  const after = samples.filter((s) => s.start >= killedAt - 500);
  const doomedUsers = new Set(doomed.map((d) => d.member.userId));
  const figures: RoundFigures = {
    round,
    killed: node.address,
    keys,
    promotedAfterMs,
    perService: {
      auth: serviceFigures(after, 'auth', killedAt),
      settings: serviceFigures(after, 'settings', killedAt),
      realtime: serviceFigures(after, 'realtime', killedAt),
    },
    revocations,
    presence: {
      users: onlineUsers.length,
      missingAtPromotion,
      missingAfterSettle,
      spuriousLeaves: watchers[0]!.leaves
        .slice(leavesBefore)
        .filter((u) => onlineUsers.includes(u) && !doomedUsers.has(u)).length,
      socketsDropped: online.filter((s) => s.disconnects.length > 0).length,
    },
  };
  for (const s of online) s.rt.close();
  return figures;
}
