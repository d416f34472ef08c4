import type { PresenceEvent } from '@concord/client';
import {
  collect,
  eventually,
  nextEvent,
  sleep,
  startRealtimeCluster,
  type RealtimeCluster,
} from './support/realtime-harness';

describe('revocation through auth-service', () => {
  let cluster: RealtimeCluster;
  beforeAll(async () => {
    cluster = await startRealtimeCluster({ nodes: 2 });
  });
  afterAll(async () => {
    await cluster.cleanup();
  });

  it("sends session:revoked to the session's sockets on both nodes, disconnects them, and keeps the user's other session", async () => {
    const user = await cluster.user();
    const other = await cluster.login(user);
    const revoked = [cluster.connect(0, user.token), cluster.connect(1, user.token)];
    const kept = [cluster.connect(0, other.token), cluster.connect(1, other.token)];
    await Promise.all([...revoked, ...kept].map((s) => s.connected()));
    const notices = revoked.map((s) => nextEvent<{ reason: string }>(s, 'session:revoked'));
    const disconnects = revoked.map((s) => nextEvent<string>(s, 'disconnect'));
    const keptNotices = kept.map((s) => collect(s, 'session:revoked'));

    await other.http.revokeSession(user.sid);

    expect(await Promise.all(notices)).toEqual([
      { reason: 'session_revoked' },
      { reason: 'session_revoked' },
    ]);
    expect(await Promise.all(disconnects)).toEqual(['io server disconnect', 'io server disconnect']);
    await sleep(300);
    expect(kept.map((s) => s.socket.connected)).toEqual([true, true]);
    expect(keptNotices.flat()).toEqual([]);
  });
});

describe.each(['classic', 'sharded'] as const)('presence with the %s adapter', (adapter) => {
  let cluster: RealtimeCluster;
  beforeAll(async () => {
    cluster = await startRealtimeCluster({ nodes: 2, adapter });
  });
  afterAll(async () => {
    await cluster.cleanup();
  });

  async function observer(node: number) {
    const watcher = await cluster.user();
    const socket = cluster.connect(node, watcher.token);
    await socket.connected();
    expect(await socket.subscribe('presence')).toEqual({ ok: true });
    return {
      socket,
      joins: collect<PresenceEvent>(socket, 'presence:join'),
      leaves: collect<PresenceEvent>(socket, 'presence:leave'),
    };
  }

  it('fires one join and one leave per cluster-wide transition across tabs on both nodes', async () => {
    const watch = await observer(1);
    const user = await cluster.user();
    const of = (events: PresenceEvent[]) => events.filter((e) => e.user_id === user.id).length;

    const tabs = [
      cluster.connect(0, user.token),
      cluster.connect(0, user.token),
      cluster.connect(1, user.token),
    ];
    await Promise.all(tabs.map((t) => t.connected()));
    await eventually(() => of(watch.joins) === 1, 5_000, 'no join');
    const listed = await watch.socket.presence();
    tabs[0]!.close();
    tabs[2]!.close();
    await sleep(500);
    const leavesWhileOneTabLeft = of(watch.leaves);
    tabs[1]!.close();
    await eventually(() => of(watch.leaves) === 1, 5_000, 'no leave');
    await sleep(300);

    expect(listed).toMatchObject({ ok: true });
    expect(listed.ok && listed.users.find((u) => u.user_id === user.id)).toEqual({
      user_id: user.id,
      connections: 3,
    });
    expect(leavesWhileOneTabLeft).toBe(0);
    expect([of(watch.joins), of(watch.leaves)]).toEqual([1, 1]);
  });
});
