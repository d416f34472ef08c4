/**
 * The several-hosts rehearsal (DESIGN.md section 9, issue 9 item 3; docs/decisions/019): a gateway
 * host, two service hosts with one replica of every service each, a data host with its own Postgres
 * and Redis, and a client host, all network namespaces on a bridge (test/support/hosts-stack.ts).
 * Every client request is sent from the client namespace. `npm test` runs every step with a 2 s
 * revocation lease; `npm run rehearse -- hosts` runs it with REHEARSAL=full: production's 10 s lease,
 * plus a read on a connection nginx pooled to the cut host and two writes sent right after a cut.
 * Figures: docs/operations.md, "Rehearsals" / "Several hosts".
 */
import { spawn } from 'node:child_process';
import { gatewayServices } from '../../../proxy/gateway';
import { PASSWORD } from '../../../services/auth-service/test/support/auth-harness';
import { startHostsStack, HOSTS_PREFIX, HOSTS_SUBNET, type HostsStack } from '../../support/hosts-stack';
import { ip, requireCommands } from '../../support/netns-hosts';
import { waitFor } from '../../support/processes';
import type { Origin, TimedResponse } from '../../support/netns-client';

const FULL = process.env.REHEARSAL === 'full';
const LEASE_MS = FULL ? 10_000 : 2_000;
// DESIGN.md section 6: a dead replica's presence entries are gone within 15 s.
const PRESENCE_BOUND_MS = 15_000;
// The gateway's proxy_connect_timeout (proxy/gateway/nginx-config.js).
const CONNECT_TIMEOUT_MS = 2_000;
// The settings routes' proxy_read_timeout (the service list's readTimeoutSeconds).
const SETTINGS_READ_TIMEOUT_MS =
  1000 * gatewayServices().find((s) => s.upstream === 'settings')!.readTimeoutSeconds;
// Generous: a busy two-core machine runs this beside other suites.
const SLACK_MS = Number(process.env.REHEARSAL_SLACK_MS ?? 5_000);

jest.setTimeout(FULL ? 600_000 : 240_000);

type Tokens = { access_token: string; session: { session_id: string } };

describe('several hosts (network namespaces)', () => {
  let stack: HostsStack;
  /** Client addresses whose sockets the gateway sends to the realtime replica of svc1 / svc2. */
  const realtimeAddress: Record<string, string> = {};
  const figures: Record<string, number | string> = {};

  const gateway = (localAddress: string): Origin => ({ baseUrl: stack.gatewayUrl, localAddress });
  const answeredBy = (res: TimedResponse) => String(res.headers['x-concord-replica'] ?? '');
  const hostOf = (replica: string) => stack.replicas.find((r) => r.name === replica)?.host ?? '?';
  const replicasOf = (upstream: string) => stack.replicas.filter((r) => r.upstream === upstream);
  const other = (host: string) => (host === 'svc1' ? 'svc2' : 'svc1');

  async function login(
    username: string,
    from: Origin,
    headers: Record<string, string> = {},
  ): Promise<Tokens> {
    const res = await stack.client.request<Tokens>(from, 'POST', '/api/v1/auth/login', {
      body: { username, password: PASSWORD },
      headers,
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function createUser(admin: Tokens, username: string, role: string): Promise<void> {
    const res = await stack.client.request(gateway(stack.clientAddresses[0]!), 'POST', '/api/v1/users', {
      body: { username, password: PASSWORD, role },
      token: admin.access_token,
    });
    expect(res.status).toBe(201);
  }

  /** Opens a socket through the gateway from the address that reaches `host`'s realtime replica. */
  async function socketOn(id: string, host: string, token: string): Promise<void> {
    const opened = await stack.client.connect(id, {
      url: stack.gatewayUrl,
      token,
      localAddress: realtimeAddress[host],
    });
    expect(opened).toEqual({ connected: true });
  }

  let admin: Tokens;

  /** What an interrupted run leaves: a namespace with a process in it and a link in the root namespace. */
  let leftoverPid = 0;

  beforeAll(async () => {
    await ip(['netns', 'add', `${HOSTS_PREFIX}svc1`]).catch(() => undefined);
    const leftover = spawn('ip', ['netns', 'exec', `${HOSTS_PREFIX}svc1`, 'sleep', '600'], {
      stdio: 'ignore',
    });
    leftoverPid = leftover.pid!;
    await ip(['link', 'add', `${HOSTS_PREFIX}stale`, 'type', 'dummy']).catch(() => undefined);
    const started = performance.now();
    stack = await startHostsStack({ env: { REVOCATION_LEASE_MS: String(LEASE_MS) } });
    figures.start_ms = Math.round(performance.now() - started);
    // decision 001: while the replica registry is younger than lease + skew every revoke waits the
    // lease. Past that age a revoke answers on the acknowledgements, which is what the steps compare.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 250));
    const from = gateway(stack.clientAddresses[0]!);
    const setup = await stack.client.request(from, 'POST', '/api/v1/auth/setup', {
      body: { username: 'admin', password: PASSWORD },
    });
    expect(setup.status).toBe(201);
    admin = await login('admin', from);
    // `hash $remote_addr consistent`: which client address the gateway pins to which realtime host.
    for (const address of stack.clientAddresses) {
      const res = await stack.client.request(gateway(address), 'GET', '/api/v1/realtime/probe');
      realtimeAddress[hostOf(answeredBy(res))] ??= address;
    }
    expect(Object.keys(realtimeAddress).sort()).toEqual(['svc1', 'svc2']);
  }, 180_000);

  afterAll(async () => {
    console.log(`several-hosts figures ${JSON.stringify(figures)}`);
    await stack?.stop();
    // Everything is gone: no namespace with the prefix, no address of the subnet anywhere.
    expect((await ip(['netns', 'list'])).split('\n').filter((l) => l.startsWith(HOSTS_PREFIX))).toEqual([]);
  }, 120_000);

  it('fails, never skips, when a prerequisite is missing', () => {
    expect(() => requireCommands(['ip', 'concord-no-such-command'])).toThrow(
      /missing commands: concord-no-such-command/,
    );
  });

  it("swept an interrupted run's leftovers before building: its processes and links are gone", async () => {
    expect(() => process.kill(leftoverPid, 0)).toThrow(/ESRCH/);
    expect(await ip(['-o', 'link', 'show'])).not.toContain(`${HOSTS_PREFIX}stale`);
  });

  it('the subnet exists only inside the namespaces: the root namespace has no address or route in it', async () => {
    const root = `${await ip(['-4', '-o', 'addr', 'show'])}${await ip(['-4', 'route', 'show', 'table', 'all'])}`;
    expect(root).not.toContain(`${HOSTS_SUBNET}.`);
  });

  it.each([
    // auth (API, internal, metrics), settings and realtime (API, metrics) on each service host.
    ['svc1', 7],
    ['svc2', 7],
    ['data', 2], // Postgres, Redis
    ['gateway', 2], // nginx https, http
  ])('%s listens on its own address only, never on loopback or every interface', async (host, count) => {
    // `ss -Hltn`: one line per listening TCP socket of the namespace; column 4 is the local address.
    const listeners = (await stack.network.run(host as string, 'ss', ['-Hltn']))
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3] ?? '');
    expect(listeners.filter((l) => !l.startsWith(`${stack.network.address(host as string)}:`))).toEqual([]);
    expect(listeners).toHaveLength(count as number);
  });

  it('sees clients at their real addresses and never believes a forged X-Forwarded-For', async () => {
    const [first, second] = stack.clientAddresses;
    const forged = { 'x-forwarded-for': '203.0.113.7' };
    const viaGateway = await login('admin', gateway(first!), forged);
    // Straight to a service host (a client is no trusted proxy): the header is ignored as well.
    const auth2 = replicasOf('auth').find((r) => r.host === 'svc2')!;
    const direct = await login('admin', { baseUrl: auth2.url, localAddress: second }, forged);
    const sessions = await stack.client.request<{ items: { session_id: string; ip_address: string }[] }>(
      gateway(first!),
      'GET',
      '/api/v1/auth/sessions?scope=own&limit=100',
      { token: admin.access_token },
    );
    expect(sessions.status).toBe(200);
    const ipOf = (t: Tokens) =>
      sessions.body.items.find((s) => s.session_id === t.session.session_id)?.ip_address;
    expect(ipOf(viaGateway)).toBe(first);
    expect(ipOf(direct)).toBe(second);
    expect(ipOf(admin)).toBe(first);
  });

  it("delivers a settings write's event to a socket connected to the other service host", async () => {
    await socketOn('settings-svc1', 'svc1', admin.access_token);
    await socketOn('settings-svc2', 'svc2', admin.access_token);
    for (const id of ['settings-svc1', 'settings-svc2']) {
      expect(await stack.client.subscribe(id, 'settings')).toEqual({ ok: true });
    }
    const sentAt = Date.now();
    const write = await stack.client.request(
      gateway(stack.clientAddresses[0]!),
      'PUT',
      '/api/v1/settings/bench/hosts_rehearsal',
      { body: { value: 7 }, headers: { 'if-match': '"0"' }, token: admin.access_token },
    );
    expect(write.status).toBe(200);
    const writer = hostOf(answeredBy(write));
    expect(['svc1', 'svc2']).toContain(writer);
    const event = await stack.client.nextEvent(
      `settings-${other(writer)}`,
      'settings.changed',
      10_000,
      (e) => (e.data as { key?: string }).key === 'hosts_rehearsal',
    );
    expect(event.data).toMatchObject({
      namespace: 'bench',
      key: 'hosts_rehearsal',
      value: 7,
      etag: write.headers.etag,
    });
    // From sending the write to the event on the other host (it may arrive before the 200 does).
    figures.settings_event_other_host_ms = event.at - sentAt;
    for (const id of ['settings-svc1', 'settings-svc2']) await stack.client.closeSocket(id);
  });

  it('a revoke cuts the session’s socket on the other host and every replica of every service refuses the token', async () => {
    const session = await login('admin', gateway(stack.clientAddresses[1]!));
    const probe = await stack.client.request(gateway(stack.clientAddresses[0]!), 'GET', '/api/v1/auth/me', {
      token: session.access_token,
    });
    expect(probe.status).toBe(200);
    // The socket on one host, the revoke answered by whichever auth host the gateway picks.
    await socketOn('revoked', 'svc2', session.access_token);
    await socketOn('bystander', 'svc1', admin.access_token);
    const started = Date.now();
    const revoke = await stack.client.request(
      gateway(stack.clientAddresses[0]!),
      'DELETE',
      `/api/v1/auth/sessions/${session.session.session_id}`,
      { token: admin.access_token },
    );
    expect(revoke.status).toBe(204);
    figures.revoke_ms = Date.now() - started;
    const notice = await stack.client.nextEvent('revoked', 'session:revoked', 10_000);
    await stack.client.nextEvent('revoked', 'disconnect', 10_000);
    figures.revoke_socket_cut_ms = Math.max(0, notice.at - started);
    expect(stack.client.events('bystander').map((e) => e.event)).not.toContain('disconnect');

    const paths: Record<string, string> = {
      auth: '/api/v1/auth/me',
      settings: '/api/v1/settings/api',
      realtime: '/api/v1/realtime/channels/settings/messages',
    };
    for (const r of stack.replicas) {
      const method = r.upstream === 'realtime' ? 'POST' : 'GET';
      const res = await stack.client.request<{ code?: number }>(
        { baseUrl: r.url },
        method,
        paths[r.upstream]!,
        {
          token: session.access_token,
          ...(method === 'POST' ? { body: { event: 'x', data: {} } } : {}),
        },
      );
      expect({ replica: r.name, status: res.status, code: res.body.code }).toEqual({
        replica: r.name,
        status: 401,
        code: 1002,
      });
    }
    for (const r of replicasOf('realtime')) {
      const handshake = await stack.client.connect(`refused-${r.name}`, {
        url: r.url,
        token: session.access_token,
      });
      expect(handshake).toMatchObject({ connected: false, data: { code: 1002 } });
    }
    await stack.client.closeSocket('bystander');
  });

  describe('when service host svc1 is cut off (its switch port goes down)', () => {
    const cutHost = 'svc1';
    const survivor = 'svc2';
    let victim: Tokens;
    let cutAt = 0;
    let revokeResult: { status: number; ms: number };
    let presenceLeft: { at: number } | undefined;
    const reads: TimedResponse[] = [];
    const survivorsAfterRevoke: { replica: string; status: number }[] = [];

    beforeAll(async () => {
      // New nginx workers hold no pooled upstream connection, and nothing below reads settings before
      // the cut: the first read sent to the cut host opens a new connection (the connect-timeout
      // case; a pooled connection is a full-mode test below). First, because a reload closes the old
      // workers' WebSockets after worker_shutdown_timeout.
      await stack.reloadGateway();
      await createUser(admin, 'presence-user', 'member');
      await createUser(admin, 'watcher', 'member');
      victim = await login('admin', gateway(stack.clientAddresses[2]!));
      const presenceUser = await login('presence-user', gateway(stack.clientAddresses[0]!));
      const watcher = await login('watcher', gateway(stack.clientAddresses[0]!));
      // A user online only through the host that is about to disappear, and a watcher on the survivor.
      await socketOn('presence-user', cutHost, presenceUser.access_token);
      await socketOn('watcher', survivor, watcher.access_token);
      expect(await stack.client.subscribe('watcher', 'presence')).toEqual({ ok: true });
      const presenceUserId = (
        await stack.client.request<{ id: string }>(
          gateway(stack.clientAddresses[0]!),
          'GET',
          '/api/v1/auth/me',
          {
            token: presenceUser.access_token,
          },
        )
      ).body.id;

      await stack.network.cut(cutHost);
      cutAt = Date.now();
      const survivingAuth = replicasOf('auth').find((r) => r.host === survivor)!;
      const left = stack.client
        .nextEvent(
          'watcher',
          'presence:leave',
          PRESENCE_BOUND_MS + SLACK_MS,
          (e) => (e.data as { user_id?: string }).user_id === presenceUserId,
        )
        .then((e) => (presenceLeft = e));
      // The revoke straight at the surviving auth replica: through the gateway the first attempt may
      // go to the cut host, and a write is never retried (that is measured by the reads below).
      const revoke = stack.client
        .request({ baseUrl: survivingAuth.url }, 'POST', '/api/v1/auth/logout?scope=local', {
          token: victim.access_token,
        })
        .then(async (res) => {
          revokeResult = { status: res.status, ms: Date.now() - cutAt };
          // Right after the 204, the survivors' verdicts on the revoked token.
          for (const r of stack.replicas.filter((x) => x.host === survivor && x.upstream !== 'realtime')) {
            const path = r.upstream === 'auth' ? '/api/v1/auth/me' : '/api/v1/settings/api';
            const answer = await stack.client.request({ baseUrl: r.url }, 'GET', path, {
              token: victim.access_token,
            });
            survivorsAfterRevoke.push({ replica: r.name, status: answer.status });
          }
        });
      // Idempotent reads through the gateway, one after another, while the cut host still looks
      // alive to nginx: the first that goes to it waits out the connect timeout and is retried.
      const readAll = (async () => {
        for (let i = 0; i < 6; i++) {
          reads.push(
            await stack.client.request(gateway(stack.clientAddresses[3]!), 'GET', '/api/v1/settings/api', {
              token: admin.access_token,
            }),
          );
        }
      })();
      await Promise.all([revoke, readAll, left.catch(() => undefined)]);
    }, 120_000);

    it('a revoke waits for the lease (the cut replicas never acknowledge), then answers 204', () => {
      figures.revoke_during_cut_ms = revokeResult.ms;
      expect(revokeResult.status).toBe(204);
      // decision 001: 204 once lease + skew passed since the publish, the cut replicas being registered.
      expect(revokeResult.ms).toBeGreaterThanOrEqual(LEASE_MS);
      expect(revokeResult.ms).toBeLessThan(LEASE_MS + 250 + SLACK_MS);
    });

    it('the survivors refuse the revoked token right after the 204', () => {
      expect(survivorsAfterRevoke).toEqual([
        { replica: expect.stringMatching(/^auth-service-/), status: 401 },
        { replica: expect.stringMatching(/^settings-service-/), status: 401 },
      ]);
    });

    it('the survivor removes the lost host’s presence within the bound', () => {
      expect(presenceLeft).toBeDefined();
      figures.presence_leave_ms = presenceLeft!.at - cutAt;
      expect(presenceLeft!.at - cutAt).toBeLessThan(PRESENCE_BOUND_MS + SLACK_MS);
    });

    it('nginx retries idempotent reads on the other host: every read succeeds, one pays the connect timeout', () => {
      const summary = reads.map((r) => ({ status: r.status, replica: answeredBy(r) }));
      expect(summary.every((r) => r.status === 200 && hostOf(r.replica) === survivor)).toBe(true);
      const slowest = Math.max(...reads.map((r) => r.ms));
      figures.read_retry_slowest_ms = Math.round(slowest);
      figures.read_retry_others_max_ms = Math.round(
        Math.max(...reads.map((r) => r.ms).filter((ms) => ms !== slowest)),
      );
      // The attempt on the cut host ends at the connect timeout, then the survivor answers.
      expect(slowest).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS * 0.9);
      expect(slowest).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    });

    it('plugged back in, the cut host refuses the revoked token and serves again', async () => {
      await stack.network.restore(cutHost);
      const restoredAt = Date.now();
      const cut = stack.replicas.filter((r) => r.host === cutHost && r.upstream !== 'realtime');
      const path = (r: { upstream: string }) =>
        r.upstream === 'auth' ? '/api/v1/auth/me' : '/api/v1/settings/api';
      const seen = new Set<number>();
      for (const r of cut) {
        // Until it serves a valid token again it answers 503; the revoked token is never accepted.
        for (;;) {
          const revoked = await stack.client.request({ baseUrl: r.url }, 'GET', path(r), {
            token: victim.access_token,
          });
          seen.add(revoked.status);
          const valid = await stack.client.request({ baseUrl: r.url }, 'GET', path(r), {
            token: admin.access_token,
          });
          if (valid.status === 200) break;
          if (Date.now() - restoredAt > LEASE_MS * 3 + SLACK_MS) throw new Error(`${r.name} did not recover`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        figures[`recovered_${r.name}_ms`] = Date.now() - restoredAt;
        const after = await stack.client.request({ baseUrl: r.url }, 'GET', path(r), {
          token: victim.access_token,
        });
        expect(after.status).toBe(401);
      }
      expect([...seen].filter((s) => s === 200)).toEqual([]);
    });

    if (FULL) {
      it('a read sent on a connection nginx had pooled to the cut host waits the read timeout', async () => {
        const read = () =>
          stack.client.request(gateway(stack.clientAddresses[3]!), 'GET', '/api/v1/settings/api', {
            token: admin.access_token,
          });
        // Both hosts serve again (previous test): reads until each has answered leave pooled connections.
        const warm = new Set<string>();
        for (let i = 0; i < 20 && warm.size < 2; i++) warm.add(hostOf(answeredBy(await read())));
        expect([...warm].sort()).toEqual(['svc1', 'svc2']);
        await stack.network.cut(cutHost);
        const results: TimedResponse[] = [];
        for (let i = 0; i < 4; i++) results.push(await read());
        await stack.network.restore(cutHost);
        figures.pooled_read_statuses = results.map((r) => `${r.status}:${answeredBy(r)}`).join(',');
        const failed = results.filter((r) => r.status !== 200);
        // The request was written onto the pooled connection: nginx waits proxy_read_timeout, and by
        // then proxy_next_upstream_timeout (10 s) has passed, so it answers 504 instead of retrying.
        expect(failed.map((r) => [r.status, (r.body as { code?: number }).code])).toEqual([[504, 8001]]);
        figures.pooled_read_failed_after_ms = Math.round(failed[0]!.ms);
        expect(failed[0]!.ms).toBeGreaterThanOrEqual(SETTINGS_READ_TIMEOUT_MS * 0.95);
        expect(failed[0]!.ms).toBeLessThan(SETTINGS_READ_TIMEOUT_MS + SLACK_MS);
        const served = results.filter((r) => r.status === 200).map((r) => hostOf(answeredBy(r)));
        expect(served).toEqual(served.map(() => survivor));
      });

      it('a write nginx sends to the cut host is never replayed on the other: 504, and nothing applied', async () => {
        // Fresh workers (no pooled connection), svc1 healthy again: two writes at once go one to each host.
        await stack.network.restore(cutHost);
        await waitFor(
          async () =>
            (
              await stack.client.request(
                { baseUrl: replicasOf('settings').find((r) => r.host === cutHost)!.url },
                'GET',
                '/readyz',
              )
            ).status === 200,
          30_000,
          () => 'settings-service-1 not ready',
        );
        await stack.reloadGateway();
        await stack.network.cut(cutHost);
        const keys = ['hosts_write_a', 'hosts_write_b'];
        const writes = await Promise.all(
          keys.map((key, i) =>
            stack.client.request(
              gateway(stack.clientAddresses[4 + i]!),
              'PUT',
              `/api/v1/settings/bench/${key}`,
              {
                body: { value: 1 },
                headers: { 'if-match': '"0"' },
                token: admin.access_token,
              },
            ),
          ),
        );
        await stack.network.restore(cutHost);
        figures.write_statuses = writes.map((w) => `${w.status}:${answeredBy(w)}`).join(',');
        const failed = writes.filter((w) => w.status !== 200);
        expect(failed.map((w) => [w.status, (w.body as { code?: number }).code])).toEqual([[504, 8001]]);
        figures.write_failed_after_ms = Math.round(failed[0]!.ms);
        expect(failed[0]!.ms).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
        // The failed write was not applied anywhere: its key is still at revision 0.
        const key = keys[writes.indexOf(failed[0]!)]!;
        const current = await stack.client.request(
          gateway(stack.clientAddresses[0]!),
          'GET',
          `/api/v1/settings/bench/${key}`,
          { token: admin.access_token },
        );
        expect([current.status, current.headers.etag]).toEqual([200, '"0"']);
      });
    }
  });
});
