import { sleep, startRealtimeCluster, type RealtimeCluster } from './support/realtime-harness';

// Engine.IO long-polling shares the node's HTTP server with the express app: only one of the two may
// answer a /socket.io/ request. When both did, the app's 404 went out first and Engine.IO's write
// then threw ERR_HTTP_HEADERS_SENT outside any handler, which killed the node.
let cluster: RealtimeCluster;

beforeAll(async () => {
  cluster = await startRealtimeCluster({ nodes: 1 });
});
afterAll(async () => {
  await cluster.cleanup();
});

describe('long-polling', () => {
  it('completes 20 round trips over polling alone, and the node keeps answering', async () => {
    const user = await cluster.user();
    const client = cluster.connect(0, user.token, { transports: ['polling'] });
    await client.connected();
    const errors: string[] = [];
    client.socket.io.engine.on('error', (err: unknown) => errors.push(String(err)));
    client.socket.on('disconnect', (reason) => errors.push(`disconnect: ${reason}`));
    for (let i = 0; i < 20; i++) {
      const ack = await client.presence();
      expect(ack.ok).toBe(true);
    }
    expect(client.socket.io.engine.transport.name).toBe('polling');
    expect(errors).toEqual([]);
    const health = await fetch(`${cluster.urls[0]}/healthz`);
    expect(health.status).toBe(200);
  });

  it('answers handshakes without a token, with a forged sid and with a bad transport once each, and stays up', async () => {
    const base = `${cluster.urls[0]}/socket.io/?EIO=4`;
    const open = await fetch(`${base}&transport=polling`);
    // The Engine.IO session opens; the Socket.IO CONNECT without a token is refused inside it.
    expect(open.status).toBe(200);
    const sid = (JSON.parse((await open.text()).slice(1)) as { sid: string }).sid;
    const connect = await fetch(`${base}&transport=polling&sid=${sid}`, { method: 'POST', body: '40' });
    expect([connect.status, await connect.text()]).toEqual([200, 'ok']);
    const refusal = await fetch(`${base}&transport=polling&sid=${sid}`);
    expect(await refusal.text()).toMatch(/^44\{.*"code":1000/);
    const unknown = await fetch(`${base}&transport=polling&sid=not-a-session`);
    expect(unknown.status).toBe(400);
    const badTransport = await fetch(`${base}&transport=carrier-pigeon`);
    expect(badTransport.status).toBe(400);
    await sleep(200);
    expect((await fetch(`${cluster.urls[0]}/healthz`)).status).toBe(200);
  });
});
