import { RealtimeConnectError } from '@concord/client';
import {
  eventually,
  nextEvent,
  sleep,
  startRealtimeCluster,
  type RealtimeCluster,
} from './support/realtime-harness';
import { tokenForge } from './support/token-forge';

// Token expiry, auth:refresh and the cluster-wide socket cap (DESIGN.md section 6).
/** The contract: cut within 1 s after exp. Generous slack for a loaded test machine on top. */
const EXPIRY_BOUND_MS = 1_000 + Number(process.env.TEST_SLACK_MS ?? 500);

let cluster: RealtimeCluster;
let forge: Awaited<ReturnType<typeof tokenForge>>;

beforeAll(async () => {
  cluster = await startRealtimeCluster({ nodes: 2 });
  forge = await tokenForge(cluster.auth.keyFile);
});
afterAll(async () => {
  await cluster.cleanup();
});

async function shortLived(seconds: number) {
  const user = await cluster.user();
  const token = await forge.genuine({ sub: user.id, sid: user.sid, role: user.role, expiresIn: seconds });
  return { user, token, expMs: (Math.floor(Date.now() / 1000) + seconds) * 1000 };
}

describe('expiry', () => {
  it('disconnects a socket within 1 s after its token expires', async () => {
    const { token, expMs } = await shortLived(3);
    const socket = cluster.connect(0, token);
    await socket.connected();
    const closing = nextEvent<{ code: number }>(socket, 'connection:closing', 10_000);
    const disconnected = nextEvent<string>(socket, 'disconnect', 10_000);

    const reason = await disconnected;
    const cutAt = Date.now();

    expect(reason).toBe('io server disconnect');
    expect((await closing).code).toBe(1000);
    expect(cutAt).toBeGreaterThanOrEqual(expMs - 1_000);
    expect(cutAt).toBeLessThanOrEqual(expMs + EXPIRY_BOUND_MS);
  });

  it('keeps a socket past exp once auth:refresh supplied a newer token of the same session', async () => {
    const { user, token, expMs } = await shortLived(3);
    const socket = cluster.connect(1, token);
    await socket.connected();
    const fresh = await user.http.refresh();

    const ack = await socket.refresh(fresh.access_token);
    await sleep(expMs + EXPIRY_BOUND_MS + 500 - Date.now());

    expect(ack).toEqual({ ok: true });
    expect(socket.socket.connected).toBe(true);
    expect(socket.currentToken).toBe(fresh.access_token);
  });

  it("refuses auth:refresh with another session's token (1001) and leaves the socket's expiry as it was", async () => {
    const { user, token, expMs } = await shortLived(3);
    const other = await cluster.login(user);
    const socket = cluster.connect(0, token);
    await socket.connected();
    const disconnected = nextEvent<string>(socket, 'disconnect', 10_000);

    const ack = await socket.refresh(other.token);
    const stillConnected = socket.socket.connected;
    await disconnected;

    expect(ack).toMatchObject({ ok: false, error: { code: 1001, error: 'FORBIDDEN' } });
    expect(stillConnected).toBe(true);
    expect(Date.now()).toBeLessThanOrEqual(expMs + EXPIRY_BOUND_MS);
    expect(socket.currentToken).toBe(token);
  });

  it("refuses auth:refresh with another user's token (1001)", async () => {
    const { token } = await shortLived(60);
    const stranger = await cluster.user();
    const socket = cluster.connect(0, token);
    await socket.connected();

    const ack = await socket.refresh(stranger.token);

    expect(ack).toMatchObject({ ok: false, error: { code: 1001 } });
    expect(socket.socket.connected).toBe(true);
  });

  it('refuses auth:refresh with a forged token (1000)', async () => {
    const { user, token } = await shortLived(60);
    const socket = cluster.connect(0, token);
    await socket.connected();

    const ack = await socket.refresh(
      await forge.forged({ sub: user.id, sid: user.sid, role: 'ceo', expiresIn: 3600 }),
    );

    expect(ack).toMatchObject({ ok: false, error: { code: 1000 } });
  });
});

describe('sockets per user across the cluster', () => {
  it('refuses the 21st socket of one user with 5000, wherever it lands', async () => {
    const user = await cluster.user();
    const sockets = Array.from({ length: 20 }, (_, i) => cluster.connect(i % 2, user.token));
    await Promise.all(sockets.map((s) => s.connected()));

    const extra = cluster.connect(0, user.token);
    const err = await extra.connected().then(
      () => undefined,
      (e: unknown) => e as RealtimeConnectError,
    );

    expect(err).toBeInstanceOf(RealtimeConnectError);
    expect(err?.data).toMatchObject({ code: 5000, error: 'RATE_LIMITED' });
  });

  it('admits a new socket once one of the 20 has closed', async () => {
    const user = await cluster.user();
    const sockets = Array.from({ length: 20 }, (_, i) => cluster.connect(i % 2, user.token));
    await Promise.all(sockets.map((s) => s.connected()));
    sockets[0]!.close();

    await eventually(
      async () => {
        const again = cluster.connect(1, user.token);
        return again.connected().then(
          () => true,
          () => false,
        );
      },
      5_000,
      'no socket admitted after one closed',
    );
  });
});
