import type { SettingsChangedEvent } from '@concord/client';
import { Pool } from 'pg';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/private-redis';
import { storeSetting, type StoredChange } from '../../../test/support/stored-setting';
import {
  collect,
  eventually,
  nextEvent,
  sleep,
  startRealtimeCluster,
  type RealtimeCluster,
} from './support/realtime-harness';

// A private redis-server that the tests kill and restart (Redis keeps nothing on disk). Bounds are
// generous: auth-service must re-seed and every node reload before anything can be judged.
const RECOVERY_BOUND_MS = 20_000;

let redis: PrivateRedis;
let cluster: RealtimeCluster;
/** A user whose token tells when auth-service serves again after a restart. */
let probe: Awaited<ReturnType<RealtimeCluster['user']>>;

beforeAll(async () => {
  redis = await startPrivateRedis();
  cluster = await startRealtimeCluster({ nodes: 2, authEnv: { REDIS_URL: redis.url } });
  probe = await cluster.user();
});
afterAll(async () => {
  await cluster?.cleanup();
  await redis?.cleanup();
});

async function restartRedis(duringOutage: () => Promise<void> = async () => undefined): Promise<void> {
  await redis.kill();
  await duringOutage();
  await redis.start();
  // The next test starts once every auth replica serves authenticated requests again (re-seeded
  // under the new epoch), so its setup never meets the recovery window this test caused.
  await eventually(
    async () =>
      (
        await Promise.all(
          cluster.auth.urls.map((u) =>
            fetch(`${u}/api/v1/auth/me`, { headers: { authorization: `Bearer ${probe.token}` } }).then(
              (r) => r.status,
            ),
          ),
        )
      ).every((status) => status === 200),
    RECOVERY_BOUND_MS,
    'auth-service did not serve again after the restart',
  );
}

/**
 * A user with two sessions: sockets of the first on both nodes, one socket of the second. The
 * returned check waits for the first session's sockets to get session:revoked and be disconnected,
 * and asserts that the second session's socket saw nothing.
 */
async function sessionOnBothNodes() {
  const user = await cluster.user();
  const other = await cluster.login(user);
  const revoked = [cluster.connect(0, user.token), cluster.connect(1, user.token)];
  const kept = cluster.connect(1, other.token);
  await Promise.all([...revoked, kept].map((s) => s.connected()));
  const notices = revoked.map((s) => nextEvent(s, 'session:revoked', RECOVERY_BOUND_MS));
  const disconnects = revoked.map((s) => nextEvent<string>(s, 'disconnect', RECOVERY_BOUND_MS));
  const keptNotices = collect(kept, 'session:revoked');
  return {
    user,
    async expectOnlyThatSessionCut() {
      expect(await Promise.all(notices)).toEqual([
        { reason: 'session_revoked' },
        { reason: 'session_revoked' },
      ]);
      expect(await Promise.all(disconnects)).toEqual(['io server disconnect', 'io server disconnect']);
      await sleep(300);
      expect(kept.socket.connected).toBe(true);
      expect(keptNotices).toEqual([]);
    },
  };
}

it('cuts the sockets of a session revoked while Redis was down, once the snapshot is reloaded', async () => {
  const { user, expectOnlyThatSessionCut } = await sessionOnBothNodes();

  // The revocation is committed in Postgres while no message can be published: it reaches the
  // realtime nodes only through the snapshot auth-service re-seeds after the restart.
  await restartRedis(async () => {
    const pool = new Pool({ connectionString: cluster.auth.db.url, max: 1 });
    try {
      await pool.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [user.sid]);
    } finally {
      await pool.end();
    }
  });

  await expectOnlyThatSessionCut();
}, 60_000);

it('cuts the sockets of a session revoked while Redis refused writes (out of memory), once writes return', async () => {
  const { user, expectOnlyThatSessionCut } = await sessionOnBothNodes();

  // The revoke commits in Postgres, but neither the snapshot write nor the publish gets through:
  // the outbox delivers it once Redis takes writes again (DESIGN.md section 4).
  await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  await redis.command('CONFIG', 'SET', 'maxmemory', '1');
  let answer;
  try {
    answer = await user.http.request('POST', '/api/v1/auth/logout', { token: user.token });
    await sleep(500);
  } finally {
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
  }
  expect(answer.status).toBe(503);
  expect(answer.body).toMatchObject({ code: 8001, committed: true });

  await expectOnlyThatSessionCut();
}, 60_000);

it('re-asserts every live socket after a Redis restart, so presence is whole again', async () => {
  const [a, b] = [await cluster.user(), await cluster.user()];
  const sockets = [cluster.connect(0, a.token), cluster.connect(1, a.token), cluster.connect(1, b.token)];
  await Promise.all(sockets.map((s) => s.connected()));

  await restartRedis();

  await eventually(
    async () => {
      const list = await sockets[2]!.presence().catch(() => undefined);
      if (!list?.ok) return false;
      const count = (id: string) => list.users.find((u) => u.user_id === id)?.connections;
      return count(a.id) === 2 && count(b.id) === 1;
    },
    RECOVERY_BOUND_MS,
    'presence was not re-asserted after the restart',
  );
}, 60_000);

it('delivers a settings change committed while Redis was down to settings subscribers on both nodes, once', async () => {
  const [a, b] = [await cluster.user(), await cluster.user()];
  const sockets = [cluster.connect(0, a.token), cluster.connect(1, b.token)];
  await Promise.all(sockets.map((s) => s.connected()));
  for (const s of sockets) await s.subscribe('settings');
  const seen = sockets.map((s) => collect<SettingsChangedEvent>(s, 'settings.changed'));
  const key = `restart_${Date.now()}`;
  let committed: StoredChange | undefined;

  // Committed while no message can be published: only the re-read after the resubscribe finds it.
  await restartRedis(async () => {
    const pool = new Pool({ connectionString: cluster.auth.db.url, max: 1 });
    try {
      committed = await storeSetting(pool, { namespace: 'bench', key, value: 5 });
    } finally {
      await pool.end();
    }
  });

  await eventually(
    async () => seen.every((events) => events.some((e) => e.key === key)),
    RECOVERY_BOUND_MS,
    'the change was not delivered after the restart',
  );
  await sleep(300);
  expect(seen.map((events) => events.filter((e) => e.key === key).map((e) => e.revision))).toEqual([
    [committed!.revision],
    [committed!.revision],
  ]);
}, 60_000);
