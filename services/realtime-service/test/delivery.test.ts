import { Redis } from 'ioredis';
import type { RealtimeMessage, SettingsChangedEvent } from '@concord/client';
import {
  collect,
  eventually,
  nextEvent,
  sleep,
  startRealtimeCluster,
  type RealtimeCluster,
} from './support/realtime-harness';

// Cross-node delivery through the Socket.IO Redis adapter, in both adapter modes (DESIGN.md 6, 9).
describe.each(['classic', 'sharded'] as const)('delivery with the %s adapter', (adapter) => {
  let cluster: RealtimeCluster;

  beforeAll(async () => {
    cluster = await startRealtimeCluster({ nodes: 2, adapter });
  });
  afterAll(async () => {
    await cluster.cleanup();
  });

  async function publish(token: string, path: string, body: unknown) {
    const res = await fetch(`${cluster.urls[0]}/api/v1/realtime/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('when a manager posts to a user on node 1, the user connected to node 2 receives it', async () => {
    const manager = await cluster.user('manager');
    const member = await cluster.user('member');
    const socket = cluster.connect(1, member.token);
    await socket.connected();
    const received = nextEvent<RealtimeMessage>(socket, 'message');

    const res = await publish(manager.token, `users/${member.id}/messages`, {
      event: 'note',
      data: { n: 1 },
    });

    expect(res.status).toBe(202);
    const message = await received;
    expect(message).toMatchObject({
      channel: `user:${member.id}`,
      event: 'note',
      data: { n: 1 },
      id: res.body.id,
    });
    expect(message.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Math.abs(Date.parse(message.ts) - Date.now())).toBeLessThan(60_000);
  });

  it('when a ceo posts to a shared channel, subscribers on both nodes receive it once', async () => {
    const ceo = await cluster.user('ceo');
    const [a, b] = [await cluster.user(), await cluster.user()];
    const onNode0 = cluster.connect(0, a.token);
    const onNode1 = cluster.connect(1, b.token);
    await Promise.all([onNode0.connected(), onNode1.connected()]);
    expect(await onNode0.subscribe(`news-${adapter}`)).toEqual({ ok: true });
    expect(await onNode1.subscribe(`news-${adapter}`)).toEqual({ ok: true });
    const seen0 = collect<RealtimeMessage>(onNode0, 'message');
    const seen1 = collect<RealtimeMessage>(onNode1, 'message');

    const res = await publish(ceo.token, `channels/news-${adapter}/messages`, {
      event: 'headline',
      data: 'hi',
    });

    expect(res.status).toBe(202);
    await eventually(() => seen0.length === 1 && seen1.length === 1, 5_000, 'both subscribers got it');
    await sleep(200);
    expect([seen0.length, seen1.length]).toEqual([1, 1]);
    expect(seen1[0]).toMatchObject({ channel: `news-${adapter}`, event: 'headline', data: 'hi' });
  });

  it("a user never receives messages of another user's channel", async () => {
    const manager = await cluster.user('manager');
    const [victim, attacker] = [await cluster.user(), await cluster.user()];
    const spy = cluster.connect(1, attacker.token);
    await spy.connected();
    const victimSocket = cluster.connect(0, victim.token);
    await victimSocket.connected();
    const spied = collect<RealtimeMessage>(spy, 'message');
    const delivered = nextEvent<RealtimeMessage>(victimSocket, 'message');

    const ack = await spy.subscribe(`user:${victim.id}`);
    await publish(manager.token, `users/${victim.id}/messages`, { event: 'secret', data: 's' });
    await publish(manager.token, `channels/user:${victim.id}/messages`, { event: 'secret', data: 's' });

    expect(ack).toMatchObject({ ok: false, error: { code: 1001, error: 'FORBIDDEN' } });
    await delivered;
    await sleep(300);
    expect(spied).toEqual([]);
  });

  it('settings.changed on the events channel reaches settings subscribers on every node, once per revision', async () => {
    const [a, b] = [await cluster.user(), await cluster.user()];
    const onNode0 = cluster.connect(0, a.token);
    const onNode1 = cluster.connect(1, b.token);
    await Promise.all([onNode0.connected(), onNode1.connected()]);
    await onNode0.subscribe('settings');
    await onNode1.subscribe('settings');
    const seen0 = collect<SettingsChangedEvent>(onNode0, 'settings.changed');
    const seen1 = collect<SettingsChangedEvent>(onNode1, 'settings.changed');
    const key = `k_${adapter}_${Date.now()}`;
    const change = (revision: number, value: number) =>
      JSON.stringify({
        type: 'settings.changed',
        data: {
          namespace: 'bench',
          key,
          value,
          etag: `"${revision}"`,
          revision,
          updated_by: a.id,
          updated_at: new Date().toISOString(),
        },
      });
    const redis = new Redis(cluster.auth.redisUrl);
    try {
      // Revision 7, a duplicate of 7 (at-least-once outbox), an older 6 arriving late, then 8.
      for (const [revision, value] of [
        [7, 1],
        [7, 1],
        [6, 0],
        [8, 2],
      ] as const) {
        await redis.publish(`${cluster.auth.prefix}events`, change(revision, value));
      }
      await redis.publish(`${cluster.auth.prefix}events`, '{"type":"settings.changed","data":{"key":1}}');
    } finally {
      redis.disconnect();
    }

    await eventually(() => seen0.length >= 2 && seen1.length >= 2, 5_000, 'settings events arrived');
    await sleep(200);
    expect(seen0.map((e) => e.revision)).toEqual([7, 8]);
    expect(seen1.map((e) => e.revision)).toEqual([7, 8]);
    expect(seen1[1]).toMatchObject({ namespace: 'bench', key, value: 2, etag: '"8"' });
  });
});
