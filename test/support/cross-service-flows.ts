import { randomBytes } from 'node:crypto';
import {
  ConcordClient,
  connectRealtime,
  RealtimeConnectError,
  type RealtimeClient,
  type RealtimeMessage,
  type SettingsChangedEvent,
} from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import type { AllServicesStack } from './all-services-stack';
import { waitFor } from './processes';

/** A member with a session opened through the gateway. */
export interface Member {
  username: string;
  userId: string;
  sessionId: string;
  client: ConcordClient;
  token: string;
}

/** A socket and what it has received. */
export interface WatchedSocket {
  rt: RealtimeClient;
  replica: number;
  settings: SettingsChangedEvent[];
  messages: RealtimeMessage[];
  joins: string[];
  leaves: string[];
  revoked: boolean;
  /** Disconnects seen, with socket.io-client's reason. */
  disconnects: string[];
}

/** Where a token was still accepted (empty: refused by every replica of every service). */
export type Acceptance = string[];

/**
 * The cross-service flows of issue 9 on an {@link AllServicesStack}: HTTP through its gateway,
 * sockets straight to a chosen realtime replica (so a test knows which node each socket is on),
 * and checks that ask every replica of every service directly. Shared by the rehearsals.
 */
export function crossServiceFlows(stack: AllServicesStack, options: { boundMs: number }) {
  const clients: ConcordClient[] = [];
  const sockets: RealtimeClient[] = [];
  const bound = options.boundMs;
  let ceo: ConcordClient | undefined;

  const gateway = () => {
    const c = new ConcordClient({ baseUrl: stack.gatewayUrl, ca: stack.ca });
    clients.push(c);
    return c;
  };
  const direct = (url: string) => {
    const c = new ConcordClient({ baseUrl: url });
    clients.push(c);
    return c;
  };
  const realtimeUrl = (i: number) => `http://127.0.0.1:${stack.realtime[i]!.port}`;

  /** The first ceo, created and logged in through the gateway (once). */
  async function admin(): Promise<ConcordClient> {
    if (ceo) return ceo;
    const username = `ceo${randomBytes(4).toString('hex')}`;
    await stack.setup({ username, password: PASSWORD });
    ceo = gateway();
    await ceo.login(username, PASSWORD);
    return ceo;
  }

  /** A new member, logged in through the gateway. */
  async function member(prefix = 'm'): Promise<Member> {
    const username = `${prefix}${randomBytes(5).toString('hex')}`;
    const created = await (await admin()).createUser(username, PASSWORD, 'member');
    const client = gateway();
    const tokens = await client.login(username, PASSWORD);
    return {
      username,
      userId: created.id,
      sessionId: tokens.session.session_id,
      client,
      token: tokens.access_token,
    };
  }

  /** A socket on realtime replica `replica`, connected, with recorders for what it receives. */
  async function socket(replica: number, token: string, channels: string[] = []): Promise<WatchedSocket> {
    const rt = connectRealtime({ url: realtimeUrl(replica), token });
    sockets.push(rt);
    const watched: WatchedSocket = {
      rt,
      replica,
      settings: [],
      messages: [],
      joins: [],
      leaves: [],
      revoked: false,
      disconnects: [],
    };
    rt.on('settings.changed', (e) => watched.settings.push(e));
    rt.on('message', (m) => watched.messages.push(m));
    rt.on('presence:join', (e) => watched.joins.push(e.user_id));
    rt.on('presence:leave', (e) => watched.leaves.push(e.user_id));
    rt.on('session:revoked', () => (watched.revoked = true));
    rt.socket.on('disconnect', (reason) => watched.disconnects.push(reason));
    await rt.connected();
    for (const channel of channels) {
      const ack = await rt.subscribe(channel);
      if (!ack.ok) throw new Error(`subscribe ${channel} refused: ${JSON.stringify(ack.error)}`);
    }
    return watched;
  }

  /** Where `token` is accepted: every auth and settings replica directly, every realtime handshake. */
  async function acceptedBy(token: string): Promise<Acceptance> {
    const accepted: Acceptance = [];
    const refusedAsRevoked = (status: number, body: unknown) =>
      status === 401 && (body as { code?: number } | undefined)?.code === 1002;
    for (const r of stack.auth.replicas) {
      const res = await direct(r.url).request('GET', '/api/v1/auth/me', { token });
      if (!refusedAsRevoked(res.status, res.body)) accepted.push(`${r.id}: ${res.status}`);
    }
    for (const [i, s] of stack.settings.entries()) {
      const res = await direct(`http://127.0.0.1:${s.port}`).request('GET', '/api/v1/settings/bench/probe', {
        token,
      });
      if (!refusedAsRevoked(res.status, res.body)) accepted.push(`settings-${i + 1}: ${res.status}`);
    }
    for (const i of stack.realtime.keys()) {
      const rt = connectRealtime({ url: realtimeUrl(i), token, socketOptions: { reconnection: false } });
      try {
        await rt.connected();
        accepted.push(`realtime-${i + 1}: connected`);
      } catch (err) {
        const code = err instanceof RealtimeConnectError ? err.data?.code : undefined;
        if (code !== 1002) accepted.push(`realtime-${i + 1}: ${code ?? String(err)}`);
      } finally {
        rt.close();
      }
    }
    return accepted;
  }

  /** Waits until `check` holds (polling), failing with `describe()` after the bound. */
  const until = (check: () => boolean | Promise<boolean>, describe: () => string, ms = bound) =>
    waitFor(async () => await check(), ms, describe);

  /**
   * A bench setting written with If-Match through the gateway; resolves once both sockets (one per
   * realtime replica, subscribed to `settings`) received its `settings.changed`. Returns the ETag.
   */
  async function settingsWriteReaches(watchers: WatchedSocket[]): Promise<string> {
    const writer = await admin();
    const key = `rehearsal_${randomBytes(4).toString('hex')}`;
    const path = `/api/v1/settings/bench/${key}`;
    const first = await writer.request('PUT', path, { token: writer.accessToken, body: { value: 1 } });
    if (first.status !== 200) throw new Error(`PUT ${path} answered ${first.status}: ${first.text}`);
    const etag = String(first.headers.etag);
    const res = await writer.request('PUT', path, {
      token: writer.accessToken,
      body: { value: 2 },
      headers: { 'if-match': etag },
    });
    // The same precondition again is stale now: compare-and-set, not last-writer-wins.
    const stale = await writer.request('PUT', path, {
      token: writer.accessToken,
      body: { value: 3 },
      headers: { 'if-match': etag },
    });
    if (res.status !== 200) throw new Error(`PUT with If-Match answered ${res.status}: ${res.text}`);
    if (stale.status !== 412) throw new Error(`a stale If-Match answered ${stale.status}`);
    const newEtag = String(res.headers.etag);
    await until(
      () =>
        watchers.every((w) => w.settings.some((e) => e.key === key && e.value === 2 && e.etag === newEtag)),
      () =>
        `settings.changed ${key} not on every replica: ${JSON.stringify(watchers.map((w) => w.settings))}`,
    );
    return newEtag;
  }

  /** A message published through the gateway reaches every watcher (subscribed to `channel`). */
  async function messageReaches(watchers: WatchedSocket[], channel: string): Promise<void> {
    const writer = await admin();
    const marker = randomBytes(6).toString('hex');
    const res = await writer.request('POST', `/api/v1/realtime/channels/${channel}/messages`, {
      token: writer.accessToken,
      body: { event: 'rehearsal', data: { marker } },
    });
    if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${res.text}`);
    await until(
      () => watchers.every((w) => w.messages.some((m) => (m.data as { marker?: string }).marker === marker)),
      () => `message ${marker} not on every replica`,
    );
  }

  /**
   * A member's logout through the gateway: answers 204, that session's socket gets
   * `session:revoked`, and every replica of every service refuses the token (1002).
   */
  async function logoutIsRefusedEverywhere(socketReplica: number): Promise<void> {
    const m = await member('r');
    const watched = await socket(socketReplica, m.token);
    const before = await acceptedBy(m.token);
    await m.client.logout();
    const after = await acceptedBy(m.token);
    await until(
      () => watched.revoked && watched.disconnects.length > 0,
      () => `the revoked session's socket was not cut (${JSON.stringify(watched.disconnects)})`,
    );
    if (before.length !== stack.auth.replicas.length + stack.settings.length + stack.realtime.length) {
      throw new Error(`before the logout the token was refused somewhere: ${JSON.stringify(before)}`);
    }
    if (after.length > 0) throw new Error(`after the 204 the token was accepted by ${JSON.stringify(after)}`);
  }

  /** A member connecting on replica `to` is seen joining, then leaving, by a watcher on `from`. */
  async function presenceJoinLeave(watcher: WatchedSocket, to: number): Promise<void> {
    const m = await member('p');
    const s = await socket(to, m.token);
    await until(
      () => watcher.joins.includes(m.userId),
      () => `no presence:join of ${m.userId} on realtime-${watcher.replica + 1}`,
    );
    const listed = await watcher.rt.presence();
    if (!listed.ok || !listed.users.some((u) => u.user_id === m.userId)) {
      throw new Error(`presence:list misses ${m.userId}: ${JSON.stringify(listed)}`);
    }
    s.rt.close();
    await until(
      () => watcher.leaves.includes(m.userId),
      () => `no presence:leave of ${m.userId} on realtime-${watcher.replica + 1}`,
    );
  }

  return {
    admin,
    member,
    socket,
    acceptedBy,
    until,
    settingsWriteReaches,
    messageReaches,
    logoutIsRefusedEverywhere,
    presenceJoinLeave,
    close() {
      sockets.forEach((s) => s.close());
      clients.forEach((c) => c.close());
    },
  };
}

/** The flows' type, for tests that keep one in a variable. */
export type CrossServiceFlows = ReturnType<typeof crossServiceFlows>;
