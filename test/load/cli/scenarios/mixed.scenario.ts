import type { RealtimeClient, RealtimeMessage } from '@concord/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { RunError } from '../user-pool';
import {
  connectErrorKind,
  connected,
  loginAll,
  sinceIntended,
  timedConnect,
  type ScenarioDefinition,
} from '../scenario';

/**
 * The mixed scenario: one operation per iteration, drawn from a fixed table of 100 so every run
 * offers exactly the same mix. Why these weights (docs/load-testing.md has the long form): a
 * working day of a team tool is mostly reads — every page and poll checks the session (`me`) and
 * reads settings; the realtime side is mostly server-to-client delivery (one publish reaches every
 * subscriber); a 15-minute access token means a refresh per active tab every quarter hour; people
 * log in a few times a day, open sockets when a tab opens, and change settings rarely.
 */
export const MIXED_WEIGHTS = {
  me: 40,
  'settings-read': 25,
  publish: 10,
  refresh: 8,
  'settings-write': 5,
  login: 5,
  connect: 5,
  'presence-list': 2,
} as const;
type MixedOp = keyof typeof MIXED_WEIGHTS;

/** The 100-slot table, interleaved by a fixed-seed shuffle so no operation comes in a burst. */
export function mixedTable(weights: Record<string, number> = MIXED_WEIGHTS): string[] {
  const table = Object.entries(weights).flatMap(([op, w]) => Array<string>(w).fill(op));
  let seed = 0x2545f491;
  for (let i = table.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [table[i], table[j]] = [table[j]!, table[i]!];
  }
  return table;
}

const loadPayload = z.object({ run: z.string(), t: z.number() });

export const mixed: ScenarioDefinition = {
  name: 'mixed',
  summary:
    'a working day’s mix: reads, settings, publishes, refreshes, logins, sockets (weights in --help docs)',
  async prepare(ctx) {
    const table = mixedTable() as MixedOp[];
    const channel = `load:${ctx.runId}`;
    const members = await ctx.pool.users('member', ctx.options.users);
    const managers = await ctx.pool.users('manager', Math.min(4, ctx.options.users));
    const readers = await loginAll(ctx, members);
    const writers = await loginAll(ctx, managers);
    const keys = Array.from({ length: ctx.options.keys }, (_, i) => `load_${ctx.runId}_mixed_${i}`);

    const probe = await ctx.http.send({
      method: 'GET',
      path: `/api/v1/settings/bench/${keys[0]}`,
      token: writers[0]!.token,
    });
    if (probe.status === 404) {
      throw new RunError(
        'the target has no bench settings namespace: start it with SETTINGS_BENCH_NAMESPACE=true',
      );
    }

    // A quarter of the readers keep a socket on the run's channel: the publishes' audience.
    let expected = 0;
    let received = 0;
    const listeners: RealtimeClient[] = [];
    for (const [i, s] of readers.slice(0, Math.max(1, Math.floor(readers.length / 4))).entries()) {
      const client = ctx.socket(await s.fresh(), i);
      listeners.push(client);
      await connected(client, ctx.options.timeoutMs);
      const ack = await client.subscribe(channel);
      if (!ack.ok) throw new RunError(`subscribe ${channel} refused: ${ack.error.detail}`);
      client.on('message', (m: RealtimeMessage) => {
        const p = loadPayload.safeParse(m.data);
        if (!p.success || p.data.run !== ctx.runId) return;
        received++;
        ctx.recorder.record('deliver', (ctx.now() - p.data.t) * 1000, 'ok');
      });
    }

    return {
      apiUsers: readers.length + writers.length,
      notes: [
        `weights per 100 operations: ${Object.entries(MIXED_WEIGHTS)
          .map(([op, w]) => `${op} ${w}`)
          .join(', ')}`,
        `${readers.length} member sessions, ${writers.length} manager sessions, ${listeners.length} socket(s) on ${channel}`,
      ],
      async iteration(it) {
        const op = table[it.n % table.length]!;
        const since = sinceIntended(it, ctx.now());
        const reader = readers[it.n % readers.length]!;
        const writer = writers[it.n % writers.length]!;
        switch (op) {
          case 'me':
            await ctx.call(
              'me',
              since,
              { method: 'GET', path: '/api/v1/auth/me', token: await reader.fresh(), source: reader.source },
              [200],
            );
            return;
          case 'settings-read':
            await ctx.call(
              'settings-read',
              since,
              {
                method: 'GET',
                path: '/api/v1/settings/api',
                token: await reader.fresh(),
                source: reader.source,
              },
              [200],
            );
            return;
          case 'publish': {
            const answer = await ctx.call(
              'publish',
              since,
              {
                method: 'POST',
                path: `/api/v1/realtime/channels/${encodeURIComponent(channel)}/messages`,
                token: await writer.fresh(),
                source: writer.source,
                body: { event: 'load', data: { run: ctx.runId, t: since } },
              },
              [202],
            );
            if (answer?.status === 202) expected += listeners.length;
            return;
          }
          case 'refresh':
            await reader.refreshNow(ctx, 'refresh', since);
            return;
          case 'settings-write': {
            const key = keys[it.n % keys.length]!;
            const token = await writer.fresh();
            const read = await ctx.call(
              'settings-write-get',
              since,
              { method: 'GET', path: `/api/v1/settings/bench/${key}`, token, source: writer.source },
              [200],
            );
            const etag = read?.headers.etag;
            const value = (read?.body as { value?: unknown } | undefined)?.value;
            if (typeof etag !== 'string' || typeof value !== 'number') return;
            const write = await ctx.call(
              'settings-write-put',
              ctx.now(),
              {
                method: 'PUT',
                path: `/api/v1/settings/bench/${key}`,
                token,
                source: writer.source,
                headers: { 'if-match': etag },
                body: { value: value + 1 },
              },
              [200, 412],
            );
            if (write?.status === 412) ctx.recorder.count('conflicts (412)');
            return;
          }
          case 'login': {
            // A short visit: log in, then out again, so sessions do not pile up.
            const user = reader.user;
            const answer = await ctx.call(
              'login',
              since,
              {
                method: 'POST',
                path: '/api/v1/auth/login',
                body: { username: user.username, password: user.password },
                source: it.n,
              },
              [200],
            );
            if (answer?.status !== 200) return;
            const token = (answer.body as { access_token: string }).access_token;
            await ctx.call(
              'logout',
              ctx.now(),
              { method: 'POST', path: '/api/v1/auth/logout', token, source: it.n },
              [204],
            );
            return;
          }
          case 'connect': {
            const client = await timedConnect(ctx, { token: await reader.fresh(), source: it.n, since });
            client?.close();
            return;
          }
          case 'presence-list': {
            const listener = listeners[it.n % listeners.length]!;
            try {
              const ack = await listener.presence();
              ctx.recorder.record(
                'presence-list',
                (ctx.now() - since) * 1000,
                ack.ok ? 'ok' : `ack ${ack.error.code} ${ack.error.error}`,
              );
            } catch (err) {
              ctx.recorder.record('presence-list', (ctx.now() - since) * 1000, connectErrorKind(err));
            }
            return;
          }
        }
      },
      async finish() {
        const deadline = ctx.now() + 3_000;
        while (received < expected && ctx.now() < deadline) await sleep(50);
        if (received < expected) ctx.recorder.error('deliveries missing', expected - received);
      },
      async teardown() {
        listeners.forEach((l) => l.close());
        const token = await writers[0]!.fresh();
        for (const key of keys) {
          await ctx.http.send({
            method: 'DELETE',
            path: `/api/v1/settings/bench/${key}`,
            token,
            headers: { 'if-match': '*' },
          });
        }
        await ctx.pool.revokeSessions([...members, ...managers]);
      },
    };
  },
};
