import https from 'node:https';
import {
  ConcordClient,
  connectRealtime,
  type RealtimeClient,
  type RealtimeMessage,
  type Role,
} from '@concord/client';
import { startAllServicesStack, type AllServicesStack } from './support/all-services-stack';

// DESIGN.md section 6 through nginx: two realtime replicas behind the gateway, clients told apart by
// their loopback source address. `hash $remote_addr consistent` must keep every Engine.IO request
// of one client on one replica (a long-poll on the other answers "Session ID unknown"), and the
// Redis adapter must carry messages between the replicas.
const ADMIN = { username: 'rt-gw-ceo', password: 'a long passphrase for the gateway' };
const ROUND_TRIPS = 20;

let stack: AllServicesStack;
let ceo: ConcordClient;
const clients: RealtimeClient[] = [];
const agents: https.Agent[] = [];

beforeAll(async () => {
  stack = await startAllServicesStack({ realtimeReplicas: 2 });
  await stack.setup(ADMIN);
  ceo = new ConcordClient({ baseUrl: stack.gatewayUrl, ca: stack.ca });
  await ceo.login(ADMIN.username, ADMIN.password);
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  for (const a of agents) a.destroy();
  ceo?.close();
  await stack?.cleanup();
});

/** The replica that answers requests from `localAddress`, as its X-Concord-Replica header says. */
async function replicaOf(localAddress: string): Promise<string> {
  const probe = new ConcordClient({
    baseUrl: stack.gatewayUrl,
    ca: stack.ca,
    localAddress,
    keepAlive: false,
  });
  try {
    const answer = await probe.request('GET', '/api/v1/realtime/');
    return String(answer.headers['x-concord-replica']);
  } finally {
    probe.close();
  }
}

/** One loopback source address per realtime replica, found by probing 127.0.0.10 onwards. */
async function sourcePerReplica(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let host = 10; host < 250 && found.size < stack.realtimeReplicaIds.length; host++) {
    const address = `127.0.0.${host}`;
    const replica = await replicaOf(address);
    if (!found.has(replica)) found.set(replica, address);
  }
  return found;
}

let users = 0;
async function member(role: Role = 'member') {
  const username = `rt-gw-${role}-${++users}`;
  await ceo.createUser(username, ADMIN.password, role);
  const http = new ConcordClient({ baseUrl: stack.gatewayUrl, ca: stack.ca });
  const tokens = await http.login(username, ADMIN.password);
  http.close();
  return { id: tokens.session.user_id, token: tokens.access_token };
}

function connectFrom(localAddress: string, token: string, transports: ('polling' | 'websocket')[]) {
  // Long-polling in Node goes through an https.Agent: the source address is the agent's.
  const agent = new https.Agent({ ca: stack.ca, localAddress, keepAlive: true });
  agents.push(agent);
  const client = connectRealtime({
    url: stack.gatewayUrl,
    token,
    ca: stack.ca,
    localAddress,
    transports,
    // socket.io-client types `agent` for browsers (string | boolean); in Node it is an http(s).Agent.
    socketOptions: { agent: agent as unknown as string, reconnection: false },
  });
  clients.push(client);
  return client;
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

describe('realtime through the gateway, two replicas', () => {
  let sources: Map<string, string>;

  beforeAll(async () => {
    sources = await sourcePerReplica();
  });

  it('finds a loopback source address landing on each replica, and the landing is stable', async () => {
    expect([...sources.keys()].sort()).toEqual([...stack.realtimeReplicaIds].sort());
    for (const [replica, address] of sources) {
      for (let i = 0; i < 5; i++) expect(await replicaOf(address)).toBe(replica);
    }
  });

  it.each([['polling'], ['websocket']] as const)(
    'clients on different replicas (%s) exchange user and shared-channel messages',
    async (transport) => {
      const [a, b] = [...sources.values()];
      const alice = await member();
      const bob = await member();
      const onA = connectFrom(a!, alice.token, [transport]);
      const onB = connectFrom(b!, bob.token, [transport]);
      await Promise.all([onA.connected(), onB.connected()]);
      const channel = `gw-${transport}-${Date.now()}`;
      expect(await onA.subscribe(channel)).toEqual({ ok: true });
      expect(await onB.subscribe(channel)).toEqual({ ok: true });

      const shared = [nextMessage(onA, 'shared'), nextMessage(onB, 'shared')];
      const post = await ceo.request('POST', `/api/v1/realtime/channels/${channel}/messages`, {
        token: ceo.accessToken,
        body: { event: 'shared', data: { n: 1 } },
      });
      expect(post.status).toBe(202);
      expect((await Promise.all(shared)).map((m) => m.data)).toEqual([{ n: 1 }, { n: 1 }]);

      // Per-user delivery crosses replicas both ways; neither receives the other's.
      const leaks: RealtimeMessage[] = [];
      onA.socket.on('message', (m) => m.event === 'direct' && leaks.push(m));
      for (const [target, client] of [
        [bob, onB],
        [alice, onA],
      ] as const) {
        const got = nextMessage(client, 'direct');
        const sent = await ceo.request('POST', `/api/v1/realtime/users/${target.id}/messages`, {
          token: ceo.accessToken,
          body: { event: 'direct', data: { to: target.id } },
        });
        expect(sent.status).toBe(202);
        expect((await got).data).toEqual({ to: target.id });
      }
      expect(leaks.map((m) => m.data)).toEqual([{ to: alice.id }]);
    },
  );

  it(`long-polling from two source addresses completes ${ROUND_TRIPS} round trips each, with no "Session ID unknown"`, async () => {
    const errors: string[] = [];
    const runs = [...sources.values()].map(async (address) => {
      const user = await member();
      const client = connectFrom(address, user.token, ['polling']);
      client.socket.io.on('error', (err) => errors.push(`${address}: ${String(err)}`));
      client.socket.on('disconnect', (reason) => errors.push(`${address}: disconnect ${reason}`));
      await client.connected();
      let completed = 0;
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const ack = await client.presence();
        if (ack.ok) completed++;
      }
      expect(client.socket.io.engine.transport.name).toBe('polling');
      return completed;
    });
    expect(await Promise.all(runs)).toEqual([ROUND_TRIPS, ROUND_TRIPS]);
    expect(errors).toEqual([]);
  });
});
