import type { PresenceStore } from './presence.ports';

/** Options of {@link createPresenceTracker}. */
export interface PresenceTrackerOptions {
  store: PresenceStore;
  maxSocketsPerUser: number;
  /** How often this node renews its registration (well under the node TTL). */
  heartbeatMs: number;
  /** How often this node looks for dead nodes to reap. */
  sweepMs: number;
  /** Reports a failed background step (heartbeat, sweep); never thrown away silently. */
  onError: (err: unknown, step: string) => void;
}

/** This node's share of cluster-wide presence. */
export interface PresenceTracker {
  /** Registers the node (re-asserting nothing yet) and starts heartbeats and sweeps. */
  start(): Promise<void>;
  stop(): void;
  /** Reserves a socket's entry; 'full' when the user is at the cluster-wide socket cap. */
  track(socketId: string, userId: string): Promise<'connected' | 'full'>;
  /** Releases a socket's entry (idempotent). */
  untrack(socketId: string): Promise<void>;
  /** Re-asserts every live socket of this node (after a Redis restart or flush). */
  reassert(): Promise<void>;
  /** One heartbeat now (tests, reconnects). */
  heartbeat(): Promise<void>;
  /** Removes this node's entries for good (SIGTERM). Later untracks are no-ops. */
  deregister(): Promise<void>;
  /** Sockets this node holds. */
  localSockets(): number;
}

/**
 * Keeps a node's presence entries in Redis equal to its live sockets. Redis operations are
 * idempotent per socket, so a re-assert racing with connects and disconnects cannot double-count:
 * connects in flight are passed as `pending` and left untouched by the re-assert.
 */
export function createPresenceTracker(options: PresenceTrackerOptions): PresenceTracker {
  const { store } = options;
  const live = new Map<string, string>();
  const pending = new Map<string, string>();
  let deregistered = false;
  // A failed connect or disconnect may or may not have reached Redis: the next heartbeat re-asserts.
  let dirty = false;
  let timers: NodeJS.Timeout[] = [];

  async function reassert(): Promise<void> {
    // Until one succeeds (e.g. one that met a Redis Cluster failover), the next heartbeat tries again.
    dirty = true;
    await store.reassert({ sockets: new Map(live), pending: [...pending.keys()] });
    dirty = false;
  }

  async function heartbeat(): Promise<void> {
    if (deregistered) return;
    if (dirty || !(await store.heartbeat())) await reassert();
  }

  async function connectOnce(socketId: string, userId: string) {
    try {
      return await store.connect({ socketId, userId, maxSockets: options.maxSocketsPerUser });
    } catch (err) {
      dirty = true;
      throw err;
    }
  }

  function stop(): void {
    for (const t of timers) clearInterval(t);
    timers = [];
  }

  return {
    async start() {
      await reassert();
      timers = [
        setInterval(
          () => heartbeat().catch((err: unknown) => options.onError(err, 'heartbeat')),
          options.heartbeatMs,
        ),
        setInterval(() => {
          store.reap().catch((err: unknown) => options.onError(err, 'reap'));
        }, options.sweepMs),
      ];
      for (const t of timers) t.unref();
    },
    stop,
    async track(socketId, userId) {
      pending.set(socketId, userId);
      try {
        let result = await connectOnce(socketId, userId);
        if (result.status === 'unregistered') {
          // Reaped while alive (a long pause) or Redis lost our registration: re-assert, then retry once.
          await reassert();
          result = await connectOnce(socketId, userId);
        }
        if (result.status === 'unregistered') throw new Error('presence registration could not be renewed');
        if (result.status === 'full') return 'full';
        live.set(socketId, userId);
        return 'connected';
      } finally {
        pending.delete(socketId);
      }
    },
    async untrack(socketId) {
      if (!live.delete(socketId) || deregistered) return;
      try {
        await store.disconnect(socketId);
      } catch (err) {
        dirty = true;
        throw err;
      }
    },
    reassert,
    heartbeat,
    async deregister() {
      deregistered = true;
      stop();
      await store.deregister();
    },
    localSockets: () => live.size,
  };
}
