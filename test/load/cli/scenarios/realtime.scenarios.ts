import type { RealtimeClient, RealtimeMessage } from '@concord/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  connected,
  loginAll,
  sinceIntended,
  type PreparedScenario,
  type ScenarioContext,
  type ScenarioDefinition,
  type Session,
  timedConnect,
} from '../scenario';

/** How long deliveries and presence events may trail the last iteration before they count as missing. */
const STRAGGLER_GRACE_MS = 3_000;

/** Realtime connect storm: each iteration is a full WebSocket handshake (token verified), then a close. */
export const realtimeConnect: ScenarioDefinition = {
  name: 'realtime-connect',
  summary: 'Socket.IO handshakes (auth: {token}) through the gateway, each closed right after',
  async prepare(ctx) {
    const users = await ctx.pool.users('member', ctx.options.users);
    const sessions = await loginAll(ctx, users);
    return {
      notes: [`${sessions.length} sessions connect in turn from ${ctx.http.sourceCount} source address(es)`],
      async iteration(it) {
        // One slot, one user: a user never holds more than one socket here, far below the per-user cap.
        const session = sessions[(it.vu >= 0 ? it.vu : it.n) % sessions.length]!;
        const token = await session.fresh();
        const client = await timedConnect(ctx, { token, source: it.n, since: sinceIntended(it, ctx.now()) });
        client?.close();
      },
      teardown: () => ctx.pool.revokeSessions(users),
    };
  },
};

const loadPayload = z.object({ run: z.string(), seq: z.number().int(), t: z.number() });

/** Subscribers connected and (optionally) subscribed to `channel`, all of them open at the end. */
async function connectSubscribers(
  ctx: ScenarioContext,
  sessions: Session[],
  channel: ((s: Session) => string) | undefined,
): Promise<RealtimeClient[]> {
  const clients: RealtimeClient[] = [];
  for (const [i, s] of sessions.entries()) {
    const client = ctx.socket(await s.fresh(), i);
    clients.push(client);
    await connected(client, ctx.options.timeoutMs);
    if (channel) {
      const ack = await client.subscribe(channel(s));
      if (!ack.ok) throw new Error(`subscribe ${channel(s)} refused: ${ack.error.code} ${ack.error.detail}`);
    }
  }
  return clients;
}

/**
 * Fan-out: a manager publishes through `POST /realtime/…/messages`; subscribers time each delivery
 * from the publish's intended start (same process, same clock) and count what never arrives.
 */
async function prepareFanout(ctx: ScenarioContext, mode: 'shared' | 'user'): Promise<PreparedScenario> {
  const channel = `load:${ctx.runId}`;
  const [members, publishers] = [
    await ctx.pool.users('member', ctx.options.users),
    await ctx.pool.users('manager', 1),
  ];
  const subscribers = await loginAll(ctx, members);
  const [publisher] = await loginAll(ctx, publishers);
  const clients = await connectSubscribers(ctx, subscribers, mode === 'shared' ? () => channel : undefined);
  let expected = 0;
  let received = 0;
  const seen = new Set<string>();
  clients.forEach((client, i) => {
    client.on('message', (m: RealtimeMessage) => {
      const payload = loadPayload.safeParse(m.data);
      if (!payload.success || payload.data.run !== ctx.runId) return; // not ours
      const id = `${i}:${payload.data.seq}`;
      if (seen.has(id)) {
        ctx.recorder.error('duplicate delivery');
        return;
      }
      seen.add(id);
      received++;
      ctx.recorder.record('deliver', (ctx.now() - payload.data.t) * 1000, 'ok');
    });
  });
  return {
    // One manager makes every publish: the per-user limit applies to that one user.
    apiUsers: 1,
    notes: [
      mode === 'shared'
        ? `${clients.length} sockets subscribed to ${channel}; every publish is delivered to each`
        : `${clients.length} sockets, one per user; each publish goes to one user's channel, round robin`,
      'deliver latency counts from the publish request’s intended start',
    ],
    async iteration(it) {
      const since = sinceIntended(it, ctx.now());
      const target =
        mode === 'shared'
          ? `channels/${encodeURIComponent(channel)}`
          : `users/${members[it.n % members.length]!.id}`;
      const answer = await ctx.call(
        'publish',
        since,
        {
          method: 'POST',
          path: `/api/v1/realtime/${target}/messages`,
          token: await publisher!.fresh(),
          source: publisher!.source,
          body: { event: 'load', data: { run: ctx.runId, seq: it.n, t: since } },
        },
        [202],
      );
      if (answer?.status === 202) expected += mode === 'shared' ? clients.length : 1;
    },
    async finish() {
      const deadline = ctx.now() + STRAGGLER_GRACE_MS;
      while (received < expected && ctx.now() < deadline) await sleep(50);
      ctx.recorder.count('deliveries expected', expected);
      ctx.recorder.count('deliveries received', received);
      if (received < expected) ctx.recorder.error('deliveries missing', expected - received);
    },
    async teardown() {
      clients.forEach((c) => c.close());
      await ctx.pool.revokeSessions([...members, ...publishers]);
    },
  };
}

/** Fan-out on one shared channel. */
export const fanoutShared: ScenarioDefinition = {
  name: 'fanout-shared',
  summary: 'publish to one shared channel that every user’s socket subscribed to; delivery latency',
  prepare: (ctx) => prepareFanout(ctx, 'shared'),
};

/** Fan-out to per-user channels. */
export const fanoutUser: ScenarioDefinition = {
  name: 'fanout-user',
  summary: 'publish to each user’s own channel in turn (user:{id}); delivery latency',
  prepare: (ctx) => prepareFanout(ctx, 'user'),
};

/**
 * Presence churn: users connect and disconnect; an observer subscribed to `presence` times each
 * `presence:join` / `presence:leave` from the connect or disconnect that caused it. An iteration
 * waits for its join before it disconnects and for its leave before its slot is free again: a
 * reconnect of the same user before the server saw the disconnect would (rightly) fire neither
 * event, and the run would report misses of its own making.
 */
export const presenceChurn: ScenarioDefinition = {
  name: 'presence-churn',
  summary: 'sockets connect and disconnect; an observer times presence:join/leave and counts misses',
  async prepare(ctx) {
    const [members, observers] = [
      await ctx.pool.users('member', ctx.options.users),
      await ctx.pool.users('manager', 1),
    ];
    const sessions = await loginAll(ctx, members);
    const [observerSession] = await loginAll(ctx, observers);
    const [observer] = await connectSubscribers(ctx, [observerSession!], () => 'presence');
    const waiting = new Map<string, () => void>();
    const arrive = (kind: 'join' | 'leave', userId: string) => waiting.get(`${kind}:${userId}`)?.();
    observer!.on('presence:join', (e) => arrive('join', e.user_id));
    observer!.on('presence:leave', (e) => arrive('leave', e.user_id));

    /** Resolves true when the observer sees `kind` for `userId` within the timeout. */
    const seen = (kind: 'join' | 'leave', userId: string) =>
      new Promise<boolean>((resolve) => {
        const key = `${kind}:${userId}`;
        const timer = setTimeout(() => {
          waiting.delete(key);
          resolve(false);
        }, ctx.options.timeoutMs);
        waiting.set(key, () => {
          clearTimeout(timer);
          waiting.delete(key);
          resolve(true);
        });
      });

    return {
      notes: [
        `${sessions.length} users churn, one socket each at a time; one observer subscribed to presence`,
        'an iteration: connect, presence:join seen, disconnect, presence:leave seen',
      ],
      async iteration(it) {
        const session = sessions[(it.vu >= 0 ? it.vu : it.n) % sessions.length]!;
        const userId = session.user.id;
        const since = sinceIntended(it, ctx.now());
        const joined = seen('join', userId);
        const client = await timedConnect(ctx, { token: await session.fresh(), source: it.n, since });
        if (!client) {
          waiting.delete(`join:${userId}`);
          return;
        }
        const joinOk = await joined;
        ctx.recorder.record('presence-join', (ctx.now() - since) * 1000, joinOk ? 'ok' : 'not seen');
        const leftAt = ctx.now();
        const left = seen('leave', userId);
        client.close();
        const leaveOk = await left;
        ctx.recorder.record('presence-leave', (ctx.now() - leftAt) * 1000, leaveOk ? 'ok' : 'not seen');
      },
      async teardown() {
        observer!.close();
        await ctx.pool.revokeSessions([...members, ...observers]);
      },
    };
  },
};
