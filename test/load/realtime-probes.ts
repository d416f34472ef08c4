import type { ConcordClient } from '@concord/client';
import { io, type Socket } from 'socket.io-client';
import { wallNow } from './realtime-measure';
import { loginAgain, type BenchUser } from './realtime-users';
import { summarize, type Summary } from './stats';

/** Latency samples (ms) with their summary. */
export interface Samples {
  samplesMs: number[];
  summary: Summary;
}

const samples = (values: number[]): Samples => ({ samplesMs: values, summary: summarize(values) });

function open(url: string, token: string): Socket {
  return io(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
}

function connected(socket: Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    const timer = setTimeout(() => reject(new Error(`no connect within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      clearTimeout(timer);
      reject(new Error(`connect refused: ${err.message} ${JSON.stringify(err.data ?? null)}`));
    });
  });
}

/** Resolves with the wall time of the next `event` whose `user_id` is `userId`. */
function nextFor(socket: Socket, event: string, userId: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onEvent = (payload: { user_id?: string }) => {
      if (payload?.user_id !== userId) return;
      const at = wallNow();
      clearTimeout(timer);
      socket.off(event, onEvent);
      resolve(at);
    };
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`no ${event} for ${userId} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on(event, onEvent);
  });
}

/** Presence convergence: join and leave, each as seen by an observer on another node. */
export interface PresenceResult {
  cycles: number;
  join: Samples;
  leave: Samples;
}

/**
 * `cycles` times: a user with no other socket connects to `probeUrl` and an observer on
 * `observerUrl` (subscribed to `presence`) waits for its `presence:join`, then the socket
 * disconnects and the observer waits for `presence:leave`. Join is timed from the moment the
 * client starts connecting (the transition is published inside the handshake, before the client
 * sees `connect`), so it includes the WebSocket handshake and token check; leave from the
 * client's `disconnect()`.
 */
export async function measurePresence(o: {
  observerUrl: string;
  observer: BenchUser;
  probeUrl: string;
  users: BenchUser[];
  cycles: number;
  timeoutMs: number;
}): Promise<PresenceResult> {
  const observer = open(o.observerUrl, o.observer.token);
  try {
    await connected(observer, o.timeoutMs);
    const ack = (await observer.timeout(o.timeoutMs).emitWithAck('subscribe', 'presence')) as {
      ok?: boolean;
    };
    if (ack?.ok !== true) throw new Error(`subscribe presence answered ${JSON.stringify(ack)}`);
    const join: number[] = [];
    const leave: number[] = [];
    for (let i = 0; i < o.cycles; i++) {
      const user = o.users[i % o.users.length]!;
      const joined = nextFor(observer, 'presence:join', user.id, o.timeoutMs);
      const t0 = wallNow();
      const probe = open(o.probeUrl, user.token);
      try {
        await connected(probe, o.timeoutMs);
        join.push((await joined) - t0);
      } finally {
        const left = nextFor(observer, 'presence:leave', user.id, o.timeoutMs);
        const t1 = wallNow();
        probe.disconnect();
        leave.push((await left) - t1);
      }
    }
    return { cycles: o.cycles, join: samples(join), leave: samples(leave) };
  } finally {
    observer.disconnect();
  }
}

/** Revocation to disconnect of a session's sockets on two nodes. */
export interface RevokeCutResult {
  cycles: number;
  /** From the logout request sent to the later of the two disconnects. */
  toDisconnect: Samples;
  /** From the logout request sent to its 204. */
  logoutAnswer: Samples;
  /** Sockets that saw `session:revoked` before being disconnected (of 2 × cycles). */
  revokedEventsSeen: number;
}

/**
 * `cycles` times: a fresh session of a user, one socket on each of `urls`, then `POST
 * /api/v1/auth/logout` with its token at auth-service; timed until both sockets are disconnected by
 * the server.
 */
export async function measureRevokeCut(o: {
  auth: ConcordClient;
  password: string;
  urls: string[];
  users: BenchUser[];
  cycles: number;
  timeoutMs: number;
}): Promise<RevokeCutResult> {
  const toDisconnect: number[] = [];
  const logoutAnswer: number[] = [];
  let revokedEventsSeen = 0;
  for (let i = 0; i < o.cycles; i++) {
    const session = await loginAgain(o.auth, o.users[i % o.users.length]!, o.password);
    const sockets = o.urls.map((url) => open(url, session.token));
    try {
      await Promise.all(sockets.map((s) => connected(s, o.timeoutMs)));
      const cuts = sockets.map(
        (s) =>
          new Promise<number>((resolve, reject) => {
            let revoked = false;
            s.once('session:revoked', () => (revoked = true));
            const timer = setTimeout(
              () => reject(new Error(`not disconnected within ${o.timeoutMs} ms`)),
              o.timeoutMs,
            );
            s.once('disconnect', (reason) => {
              const at = wallNow();
              clearTimeout(timer);
              if (reason !== 'io server disconnect') reject(new Error(`disconnected by ${reason}`));
              if (revoked) revokedEventsSeen += 1;
              resolve(at);
            });
          }),
      );
      const t0 = wallNow();
      const res = await o.auth.request('POST', '/api/v1/auth/logout', { token: session.token });
      const answered = wallNow();
      if (res.status !== 204) throw new Error(`logout answered ${res.status}: ${res.text}`);
      const at = await Promise.all(cuts);
      toDisconnect.push(Math.max(...at) - t0);
      logoutAnswer.push(answered - t0);
    } finally {
      for (const s of sockets) s.disconnect();
    }
  }
  return {
    cycles: o.cycles,
    toDisconnect: samples(toDisconnect),
    logoutAnswer: samples(logoutAnswer),
    revokedEventsSeen,
  };
}
