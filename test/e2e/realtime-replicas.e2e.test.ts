import type { RealtimeClient, RealtimeMessage } from '@concord/client';
import type { E2eStack } from '../support/e2e-stack';
import { gatewayClients, newUser, setupCeo, startFullStack } from '../support/full-stack';
import type { GatewayHttp } from '../support/gateway-http';
import {
  addressPerRealtimeReplica,
  gatewaySocket,
  realtimeReplicaOf,
  type SocketTransport,
} from '../support/gateway-realtime';

// DESIGN.md section 6 through nginx (issue 8): clients told apart by their loopback source address
// land on different realtime replicas and still exchange messages (the Redis adapter), and
// `hash $remote_addr consistent` keeps every Engine.IO request of one client on one replica — a
// long-poll reaching the other one would answer "Session ID unknown".
const ROUND_TRIPS = 20;

let stack: E2eStack;
let ceo: GatewayHttp & { token: string };
let sources: string[];
const http = gatewayClients(() => stack);
const sockets: RealtimeClient[] = [];

beforeAll(async () => {
  stack = await startFullStack();
  ceo = await setupCeo(http, 'realtime.replicas.ceo', '127.0.0.130');
  sources = await addressPerRealtimeReplica(stack, 131);
}, 120_000);
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await http.closeAll();
  await stack?.cleanup();
});

async function connected(token: string, localAddress: string, transport: SocketTransport) {
  const s = gatewaySocket(stack, token, { localAddress, transport });
  sockets.push(s);
  await s.connected();
  return s;
}

function nextMessage(client: RealtimeClient, event: string): Promise<RealtimeMessage> {
  return new Promise((resolve) => {
    const listener = (message: RealtimeMessage) => {
      if (message.event !== event) return;
      client.socket.off('message', listener);
      resolve(message);
    };
    client.socket.on('message', listener);
  });
}

it('a source address keeps landing on the same replica, and each replica has one', async () => {
  expect(sources).toHaveLength(2);
  for (const [i, address] of sources.entries()) {
    for (let n = 0; n < 5; n++) expect(await realtimeReplicaOf(stack, address)).toBe(stack.realtime[i]!.id);
  }
});

it.each(['polling', 'websocket'] as const)(
  'clients on different replicas (%s) exchange shared-channel and per-user messages, never another user’s',
  async (transport) => {
    const [a, b] = sources;
    const alice = await newUser(ceo, 'member', http.open('h2', a!));
    const bob = await newUser(ceo, 'member', http.open('h2', b!));
    const onA = await connected(alice.token, a!, transport);
    const onB = await connected(bob.token, b!, transport);
    const channel = `replicas-${transport}`;
    expect([await onA.subscribe(channel), await onB.subscribe(channel)]).toEqual([
      { ok: true },
      { ok: true },
    ]);

    const shared = [nextMessage(onA, 'shared'), nextMessage(onB, 'shared')];
    const post = await ceo.request('POST', `/api/v1/realtime/channels/${channel}/messages`, {
      token: ceo.token,
      body: { event: 'shared', data: { n: 1 } },
    });
    expect(post.status).toBe(202);
    expect((await Promise.all(shared)).map((m) => m.data)).toEqual([{ n: 1 }, { n: 1 }]);

    const direct: Array<[string, unknown]> = [];
    for (const [name, s] of [
      ['alice', onA],
      ['bob', onB],
    ] as const) {
      s.socket.on('message', (m) => m.event === 'direct' && direct.push([name, m.data]));
    }
    for (const [target, client] of [
      [bob, onB],
      [alice, onA],
    ] as const) {
      const got = nextMessage(client, 'direct');
      const sent = await ceo.request('POST', `/api/v1/realtime/users/${target.id}/messages`, {
        token: ceo.token,
        body: { event: 'direct', data: { to: target.username } },
      });
      expect(sent.status).toBe(202);
      await got;
    }
    expect(direct).toEqual([
      ['bob', { to: bob.username }],
      ['alice', { to: alice.username }],
    ]);
  },
);

it(`long-polling from two source addresses completes ${ROUND_TRIPS} round trips each, with no "Session ID unknown"`, async () => {
  const errors: string[] = [];
  const runs = sources.map(async (address) => {
    const user = await newUser(ceo, 'member', http.open('http/1.1', address));
    const s = await connected(user.token, address, 'polling');
    s.socket.io.on('error', (err) => errors.push(`${address}: ${String(err)}`));
    s.socket.on('disconnect', (reason) => errors.push(`${address}: disconnect ${reason}`));
    let completed = 0;
    for (let i = 0; i < ROUND_TRIPS; i++) if ((await s.presence()).ok) completed++;
    expect(s.socket.io.engine.transport.name).toBe('polling');
    return completed;
  });
  expect(await Promise.all(runs)).toEqual([ROUND_TRIPS, ROUND_TRIPS]);
  expect(errors).toEqual([]);
});
