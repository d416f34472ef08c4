import { RealtimeConnectError } from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { gatewayClients } from '../support/full-stack';
import type { GatewayHttp, HttpVersion } from '../support/gateway-http';
import { addressPerRealtimeReplica, gatewaySocket } from '../support/gateway-realtime';

/** How long after a request a node that it crashed is surely seen dead (the crash was synchronous). */
const CRASH_WINDOW_MS = Number(process.env.TEST_CRASH_WINDOW_MS ?? 500);

let stack: E2eStack;
let token: string;
const http = gatewayClients(() => stack);

beforeAll(async () => {
  stack = await startE2eStack({ authReplicas: 1, settingsReplicas: 0, realtimeReplicas: 2 });
  const ceo = stack.client({ localAddress: '127.0.0.130' });
  await ceo.setup('poll.ceo', PASSWORD);
  token = (await ceo.login('poll.ceo', PASSWORD)).access_token;
}, 120_000);
afterEach(() => http.closeAll());
afterAll(async () => {
  await stack?.cleanup();
});

/** Every realtime node's process is running and answers its own /readyz. */
async function nodesUp(): Promise<{ id: string; alive: boolean; ready: number }[]> {
  return Promise.all(
    stack.realtime.map(async (r) => ({
      id: r.id,
      alive: r.process.child.exitCode === null && r.process.child.signalCode === null,
      ready: await fetch(`${r.url}/readyz`).then(
        (res) => res.status,
        () => 0,
      ),
    })),
  );
}

const allUp = () => stack.realtime.map((r) => ({ id: r.id, alive: true, ready: 200 }));

/** Opens an Engine.IO polling session through the gateway; its `sid`. */
async function openPolling(client: GatewayHttp): Promise<string> {
  const res = await client.request('GET', '/socket.io/?EIO=4&transport=polling');
  expect(res.status).toBe(200);
  // Engine.IO v4 open packet: `0{"sid":...}`.
  const open = JSON.parse(res.text.slice(1)) as { sid: string };
  return open.sid;
}

describe('unauthenticated and malformed Socket.IO long-polling through the gateway', () => {
  it.each<[HttpVersion, string]>([
    ['http/1.1', '127.0.0.131'],
    ['h2', '127.0.0.135'],
  ])(
    'over %s, a polling session whose CONNECT carries no token gets the 1000 refusal and the node stays up',
    async (version, address) => {
      const client = http.open(version, address);
      const sid = await openPolling(client);

      const connect = await client.request('POST', `/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        rawBody: '40',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
      });
      const refusal = await client.request('GET', `/socket.io/?EIO=4&transport=polling&sid=${sid}`);
      await new Promise((r) => setTimeout(r, CRASH_WINDOW_MS));

      expect(connect.status).toBe(200);
      expect(refusal.status).toBe(200);
      // Socket.IO CONNECT_ERROR (`44`) with the problem payload.
      expect(refusal.text).toMatch(/^44\{.*"code":1000/);
      expect(await nodesUp()).toEqual(allUp());
    },
  );

  it('socket.io-client over polling without a token is refused with 1000 and the node stays up', async () => {
    const rt = gatewaySocket(stack, '', { localAddress: '127.0.0.132', transport: 'polling' });

    const error = await rt.connected().then(
      () => undefined,
      (err: unknown) => err,
    );
    rt.close();
    await new Promise((r) => setTimeout(r, CRASH_WINDOW_MS));

    expect(error).toBeInstanceOf(RealtimeConnectError);
    expect((error as RealtimeConnectError).data?.code).toBe(1000);
    expect(await nodesUp()).toEqual(allUp());
  });

  it.each([
    ['an unknown sid', 'GET', '/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA', undefined],
    ['an unsupported protocol version', 'GET', '/socket.io/?EIO=9&transport=polling', undefined],
    ['an unknown transport', 'GET', '/socket.io/?EIO=4&transport=carrier-pigeon', undefined],
    ['no query at all', 'GET', '/socket.io/', undefined],
    ['a POST that opens no session', 'POST', '/socket.io/?EIO=4&transport=polling', '40'],
  ])('%s is answered 400 by each replica and no node dies', async (_name, method, path, body) => {
    const statuses = [];
    for (const address of await addressPerRealtimeReplica(stack, 140)) {
      const res = await http
        .open('http/1.1', address)
        .request(method, path, body === undefined ? {} : { rawBody: body });
      statuses.push(res.status);
    }
    await new Promise((r) => setTimeout(r, CRASH_WINDOW_MS));

    expect(statuses).toEqual([400, 400]);
    expect(await nodesUp()).toEqual(allUp());
  });

  it('a garbage packet on an open polling session closes that session only; the node still admits a valid socket', async () => {
    const client = http.open('http/1.1', '127.0.0.134');
    const sid = await openPolling(client);

    await client.request('POST', `/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      rawBody: '\u0000\u00ff{not a packet',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    await new Promise((r) => setTimeout(r, CRASH_WINDOW_MS));
    const rt = gatewaySocket(stack, token, { localAddress: '127.0.0.134', transport: 'polling' });
    const connected = await rt.connected().then(
      () => true,
      (err: unknown) => err,
    );
    rt.close();

    expect(connected).toBe(true);
    expect(await nodesUp()).toEqual(allUp());
  });
});
