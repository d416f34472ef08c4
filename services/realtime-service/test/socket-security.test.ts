import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { RealtimeConnectError, type RealtimeAck } from '@concord/client';
import { nextEvent, sleep, startRealtimeCluster, type RealtimeCluster } from './support/realtime-harness';
import { tokenForge } from './support/token-forge';

// Attack tests of the handshake and the channel rules (DESIGN.md sections 3, 4 and 6).
let cluster: RealtimeCluster;
let forge: Awaited<ReturnType<typeof tokenForge>>;

beforeAll(async () => {
  cluster = await startRealtimeCluster({
    nodes: 2,
    env: {
      REALTIME_EVENTS_PER_SECOND: '5',
      REALTIME_EVENT_BURST: '10',
      REALTIME_FLOOD_DISCONNECT_AFTER: '15',
    },
  });
  forge = await tokenForge(cluster.auth.keyFile);
});
afterAll(async () => {
  await cluster.cleanup();
});

async function refusal(node: number, token: string, extra: object = {}): Promise<RealtimeConnectError> {
  const client = cluster.connect(node, token, extra);
  try {
    await client.connected();
  } catch (err) {
    expect(err).toBeInstanceOf(RealtimeConnectError);
    return err as RealtimeConnectError;
  }
  throw new Error('the handshake was accepted');
}

describe('the handshake', () => {
  it('refuses a token signed with a key that is not in the JWKS, with {code, error, detail}', async () => {
    const user = await cluster.user();

    const err = await refusal(0, await forge.forged({ sub: user.id, sid: user.sid, role: 'ceo' }));

    expect(err.data).toEqual({ code: 1000, error: 'UNAUTHORIZED', detail: 'The access token is invalid' });
  });

  it('refuses a missing token and an oversized one with 1000', async () => {
    expect((await refusal(0, '')).data?.code).toBe(1000);
    expect((await refusal(1, 'a'.repeat(9 * 1024))).data).toMatchObject({
      code: 1000,
      detail: 'The access token is too large',
    });
  });

  it('refuses the token of a revoked session with 1002 on every node', async () => {
    const user = await cluster.user();
    await user.http.logout();

    const errors = await Promise.all([refusal(0, user.token), refusal(1, user.token)]);

    expect(errors.map((e) => e.data)).toEqual([
      { code: 1002, error: 'SESSION_REVOKED', detail: 'The session has been revoked' },
      { code: 1002, error: 'SESSION_REVOKED', detail: 'The session has been revoked' },
    ]);
  });

  it('ignores X-Forwarded-For from an untrusted peer when resolving the client address', async () => {
    const user = await cluster.user();
    const client = cluster.connect(0, user.token, {
      localAddress: '127.0.0.7',
      extraHeaders: { 'x-forwarded-for': '203.0.113.9' },
    });

    await client.connected();

    const line = cluster.logs[0]!.lines().find((l) => l.msg === 'socket connected' && l.user_id === user.id);
    expect(line?.client_ip).toBe('127.0.0.7');
  });
});

describe('subscribe', () => {
  it('refuses the budget channels to a member with 1001, and grants them to a manager', async () => {
    const [member, manager] = [await cluster.user('member'), await cluster.user('manager')];
    const m = cluster.connect(0, member.token);
    const boss = cluster.connect(1, manager.token);
    await Promise.all([m.connected(), boss.connected()]);

    const refused = [await m.subscribe('budget'), await m.subscribe('budget:q3')];
    const granted = await boss.subscribe('budget:q3');

    for (const ack of refused) {
      expect(ack).toEqual({
        ok: false,
        error: { code: 1001, error: 'FORBIDDEN', detail: 'You may not subscribe to this channel' },
      });
    }
    expect(granted).toEqual({ ok: true });
  });

  it('never grants session:* or internal:* channels, not even to a ceo', async () => {
    const ceo = await cluster.user('ceo');
    const socket = cluster.connect(0, ceo.token);
    await socket.connected();

    const acks = [
      await socket.subscribe(`session:${ceo.sid}`),
      await socket.subscribe('internal:metrics'),
      await socket.subscribe('internal'),
    ];

    expect(acks.map((a) => (a.ok ? 'ok' : a.error.code))).toEqual([1001, 1001, 1001]);
  });

  it('logs a denial with the channel redacted', async () => {
    const member = await cluster.user('member');
    const socket = cluster.connect(0, member.token);
    await socket.connected();

    await socket.subscribe('budget:acquisition-of-acme');

    const line = cluster.logs[0]!.lines().find(
      (l) => l.msg === 'channel subscription denied' && l.user_id === member.id,
    );
    expect(line?.channel).toMatch(/^budget:#[0-9a-f]{12}$/);
    expect(JSON.stringify(cluster.logs[0]!.lines())).not.toContain('acquisition-of-acme');
  });

  it('answers an invalid channel name with 2000', async () => {
    const member = await cluster.user();
    const socket = cluster.connect(0, member.token);
    await socket.connected();

    const acks = [
      await socket.subscribe('News'),
      await socket.subscribe(''),
      await socket.subscribe(`x${'y'.repeat(128)}`),
    ];

    expect(acks.map((a) => (a.ok ? 'ok' : a.error.code))).toEqual([2000, 2000, 2000]);
  });

  it('acks the own user channel, and refuses to leave it', async () => {
    const member = await cluster.user();
    const socket = cluster.connect(0, member.token);
    await socket.connected();

    const subscribed = await socket.subscribe(`user:${member.id}`);
    const left = await socket.unsubscribe(`user:${member.id}`);

    expect(subscribed).toEqual({ ok: true });
    expect(left).toMatchObject({ ok: false, error: { code: 1001 } });
  });

  it('refuses the 101st subscription of one socket with 5000', async () => {
    const member = await cluster.user();
    // A generous event budget for this socket only is not possible per socket: pace the calls.
    const socket = cluster.connect(1, member.token);
    await socket.connected();
    const acks: RealtimeAck[] = [];

    for (let i = 1; i <= 101; i++) {
      acks.push(await socket.subscribe(`cap-${i}`));
      if (i % 8 === 0) await sleep(1_700);
    }

    expect(acks.slice(0, 100).every((a) => a.ok)).toBe(true);
    expect(acks[100]).toMatchObject({ ok: false, error: { code: 5000, error: 'RATE_LIMITED' } });
  }, 60_000);
});

describe('event floods', () => {
  it('answers events over the budget with 5000 acks, then disconnects with 5000', async () => {
    const member = await cluster.user();
    const socket = cluster.connect(0, member.token);
    await socket.connected();
    const closing = nextEvent<{ code: number }>(socket, 'connection:closing');
    const disconnected = nextEvent<string>(socket, 'disconnect');

    const acks = await Promise.all(
      Array.from({ length: 40 }, (_, i) => socket.subscribe(`flood-${i}`).catch(() => undefined)),
    );

    const codes = acks.map((a) => (a === undefined ? 'none' : a.ok ? 'ok' : a.error.code));
    expect(codes.filter((c) => c === 'ok').length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 5000).length).toBeGreaterThan(0);
    expect(await closing).toMatchObject({ code: 5000, error: 'RATE_LIMITED' });
    expect(await disconnected).toBe('io server disconnect');
  });
});

describe('long-polling requests', () => {
  it('an unauthenticated polling handshake is answered by Engine.IO alone (open packet, replica header) and the node keeps serving', async () => {
    const node = await cluster.addNode({ EXPOSE_REPLICA_HEADER: 'true', REPLICA_ID: 'realtime-polled' });
    const base = `http://127.0.0.1:${node.port}`;
    const url = `${base}/socket.io/?EIO=4&transport=polling`;

    const open = await fetch(url);
    const text = await open.text();
    const connect = await fetch(`${url}&sid=${(JSON.parse(text.slice(1)) as { sid: string }).sid}`, {
      method: 'POST',
      body: '40',
    });
    const unknown = await fetch(`${url}&sid=nope`);
    await sleep(200);

    expect(open.status).toBe(200);
    expect(text).toMatch(/^0\{"sid":/);
    expect(open.headers.get('x-concord-replica')).toBe('realtime-polled');
    expect(connect.status).toBe(200);
    expect(unknown.status).toBe(400);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('the WebSocket upgrade names the replica too', async () => {
    const node = await cluster.addNode({ EXPOSE_REPLICA_HEADER: 'true', REPLICA_ID: 'realtime-upgraded' });

    const upgraded = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: node.port,
        path: '/socket.io/?EIO=4&transport=websocket',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': randomBytes(16).toString('base64'),
        },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res);
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });

    expect(upgraded.statusCode).toBe(101);
    expect(upgraded.headers['x-concord-replica']).toBe('realtime-upgraded');
  });
});
