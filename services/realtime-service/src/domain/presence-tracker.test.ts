import { createPresenceTracker } from './presence-tracker';
import type { PresenceConnectResult, PresenceStore } from './presence.ports';

/** An in-memory store recording what the tracker asked for. */
function fakeStore() {
  const calls: string[] = [];
  const reasserts: { sockets: Record<string, string>; pending: string[] }[] = [];
  const connectResults: (PresenceConnectResult | Error)[] = [];
  let registered = true;
  const store: PresenceStore = {
    async connect({ socketId }) {
      calls.push(`connect ${socketId}`);
      const next = connectResults.shift() ?? { status: 'connected', connections: 1 };
      if (next instanceof Error) throw next;
      return next;
    },
    async disconnect(socketId) {
      calls.push(`disconnect ${socketId}`);
    },
    async heartbeat() {
      calls.push('heartbeat');
      return registered;
    },
    async reassert({ sockets, pending }) {
      calls.push('reassert');
      reasserts.push({ sockets: Object.fromEntries(sockets), pending: [...pending] });
      registered = true;
    },
    reap: async () => 0,
    async deregister() {
      calls.push('deregister');
    },
    list: async () => [],
    countUsers: async () => 0,
    onTransition: async () => undefined,
  };
  return {
    store,
    calls,
    reasserts,
    connectResults,
    lose: () => {
      registered = false;
    },
  };
}

function tracker(fake: ReturnType<typeof fakeStore>) {
  return createPresenceTracker({
    store: fake.store,
    maxSocketsPerUser: 20,
    heartbeatMs: 60_000,
    sweepMs: 60_000,
    onError: () => undefined,
  });
}

describe('createPresenceTracker', () => {
  it('re-asserts its live sockets when a heartbeat finds the registration gone', async () => {
    const fake = fakeStore();
    const t = tracker(fake);
    await t.track('s1', 'u1');
    await t.track('s2', 'u2');
    fake.lose();

    await t.heartbeat();

    expect(fake.reasserts.at(-1)).toEqual({ sockets: { s1: 'u1', s2: 'u2' }, pending: [] });
  });

  it('re-asserts, then retries once, when a connect finds the node unregistered', async () => {
    const fake = fakeStore();
    const t = tracker(fake);
    fake.connectResults.push({ status: 'unregistered' });

    const result = await t.track('s1', 'u1');

    expect(result).toBe('connected');
    expect(fake.calls).toEqual(['connect s1', 'reassert', 'connect s1']);
    expect(fake.reasserts[0]).toEqual({ sockets: {}, pending: ['s1'] });
  });

  it('does not count a socket the store refused as full', async () => {
    const fake = fakeStore();
    const t = tracker(fake);
    fake.connectResults.push({ status: 'full' });

    expect(await t.track('s1', 'u1')).toBe('full');
    expect(t.localSockets()).toBe(0);
    await t.untrack('s1');
    expect(fake.calls).not.toContain('disconnect s1');
  });

  it('re-asserts at the next heartbeat after a connect whose outcome is unknown', async () => {
    const fake = fakeStore();
    const t = tracker(fake);
    fake.connectResults.push(new Error('Connection is closed.'));
    await expect(t.track('s1', 'u1')).rejects.toThrow('Connection is closed.');

    await t.heartbeat();

    expect(fake.calls.slice(-1)).toEqual(['reassert']);
    expect(fake.reasserts.at(-1)).toEqual({ sockets: {}, pending: [] });
  });

  it('releases nothing one by one after deregistering', async () => {
    const fake = fakeStore();
    const t = tracker(fake);
    await t.track('s1', 'u1');

    await t.deregister();
    await t.untrack('s1');

    expect(fake.calls).toEqual(['connect s1', 'deregister']);
  });
});
