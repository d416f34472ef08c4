import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  credentialEndpointNames,
  ensureTlsMaterial,
  renderNginxConfig,
  startNginx,
  type NginxHandle,
} from '../../proxy/gateway';
import { readServiceList } from '../../proxy/service-list/service-list';
import { gatewayUpstreams, replicaEnv, stackReplicas, type StackReplica } from '../../proxy/stack/stack-plan';
import { runCleanup, writeKeyFile } from '../../services/auth-service/test/support/auth-harness';
import { startNetnsClient, type NetnsClient } from './netns-client';
import { createHostNetwork, requireCommands, type HostNetwork } from './netns-hosts';
import { waitFor, type ManagedProcess } from './processes';

const ROOT = path.resolve(__dirname, '../..');

/** The prefix of every namespace (and root-namespace link) of the rehearsal: what a sweep deletes. */
export const HOSTS_PREFIX = 'ccd-';

/** The rehearsal's subnet (10.231.0.0/24): checked unused in the root namespace before it is built. */
export const HOSTS_SUBNET = '10.231.0';

/** Every "host": the gateway, two service hosts, the data host and the test clients' host. */
const HOSTS = {
  gateway: [2],
  svc1: [11],
  svc2: [12],
  data: [20],
  // Several client addresses: the realtime upstream hashes $remote_addr, so reaching both realtime
  // hosts through the gateway takes clients at different addresses.
  client: [100, 101, 102, 103, 104, 105, 106, 107],
};

/** The commands the rehearsal runs; any missing one fails it (never a skip). */
const PREREQUISITES = [
  'ip',
  'ss',
  'runuser',
  'initdb',
  'postgres',
  'pg_isready',
  'redis-server',
  'redis-cli',
  'nginx',
  'openssl',
];

/** One service replica on a service host. */
export interface HostReplica {
  name: string;
  /** `auth`, `settings`, `realtime`. */
  upstream: string;
  /** `svc1` or `svc2`. */
  host: string;
  /** `http://<host address>:<port>` (reachable from the client namespace). */
  url: string;
  process: ManagedProcess;
}

/** The running several-hosts stack. */
export interface HostsStack {
  network: HostNetwork;
  /** `https://10.231.0.2:8443`. */
  gatewayUrl: string;
  client: NetnsClient;
  clientAddresses: string[];
  serviceHosts: string[];
  replicas: HostReplica[];
  /**
   * Reloads nginx (resolves once new workers serve): the new workers start with no pooled upstream
   * connections, so the next request to each upstream server opens a new one. The test clients
   * drop their pooled connections too.
   */
  reloadGateway(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startHostsStack}. */
export interface HostsStackOptions {
  /** Extra environment for every replica. */
  env?: Record<string, string>;
}

/**
 * Builds the hosts (test/support/netns-hosts.ts), a data host with its own Postgres (initdb as the
 * postgres user, private socket directory) and Redis, applies the migrations from a service host,
 * starts one replica of every service of the service list on each service host (the local stack's
 * plan with another placement: bound to the host's address, trusting only the gateway host) and
 * nginx on the gateway host, rendered by proxy/gateway with the service hosts' addresses. Needs
 * `npm run build` (the replicas run from dist) and root.
 */
export async function startHostsStack(options: HostsStackOptions = {}): Promise<HostsStack> {
  requireCommands(PREREQUISITES);
  const network = await createHostNetwork({
    prefix: HOSTS_PREFIX,
    subnet: HOSTS_SUBNET,
    hosts: HOSTS,
    stateDir: path.join(tmpdir(), 'concord-hosts-rehearsal'),
  });
  const processes: ManagedProcess[] = [];
  const replicas: HostReplica[] = [];
  let client: NetnsClient | undefined;
  let nginx: NginxHandle | undefined;
  const serviceHosts = ['svc1', 'svc2'];
  const stop = () =>
    runCleanup([
      // A cut host's replicas could not deregister; plugged back in they stop in moments.
      () => Promise.all(serviceHosts.map((h) => network.restore(h))),
      () => client?.stop(),
      () => nginx?.stop(),
      () => Promise.all(replicas.map((r) => r.process.stop())),
      // Redis and Postgres last (reverse start order), then whatever is left and the namespaces.
      () => Promise.all(processes.map((p) => p.stop())),
      () => network.remove(),
    ]);
  try {
    const gateway = network.address('gateway');
    const gatewayUrl = `https://${gateway}:8443`;
    const tls = await ensureTlsMaterial(path.join(network.stateDir, 'tls'), { names: [gateway] });
    const ca = readFileSync(tls.caCert, 'utf8');
    client = await startNetnsClient(network, 'client', ca);
    const { databaseUrl, redisUrl } = await startDataHost(network, processes);

    // The one-shot migrate job, run from a service host like compose's and k8s's.
    await network.run('svc1', process.execPath, [path.join(ROOT, 'libs/db/dist/migrate-cli.js')], {
      DATABASE_URL: databaseUrl,
    });

    const { file: jwtKeysFile } = await writeKeyFile(network.stateDir);
    const services = readServiceList(ROOT);
    const plan = stackReplicas(services);
    const hostOf = (r: StackReplica) => serviceHosts[Number(r.name.split('-').at(-1)) - 1]!;
    const shared = {
      generated: { jwtKeysFile, secrets: { REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url') } },
      databaseUrl,
      redisUrl,
      redisPrefix: 'concord:',
      publicUrl: gatewayUrl,
      logLevel: 'warn',
    };
    const provider = plan.filter((r) => r.service.jwks === 'provider');
    // The JWKS provider first: the verifiers' key sets come from the auth replica on their own host.
    for (const group of [provider, plan.filter((r) => r.service.jwks !== 'provider')]) {
      const started = group.map((r) => {
        const host = hostOf(r);
        const address = network.address(host);
        const jwks = provider.find((p) => hostOf(p) === host)!;
        const env = {
          ...replicaEnv(r, services, shared, {
            host: address,
            trustedProxies: `${gateway}/32`,
            jwksUrl: `http://${address}:${jwks.internalPort}/.well-known/jwks.json`,
          }),
          REVOCATION_LEASE_MS: '2000',
          ...options.env,
        };
        const main = path.join(ROOT, r.service.main);
        const replica: HostReplica = {
          name: r.name,
          upstream: r.service.upstream,
          host,
          url: `http://${address}:${r.port}`,
          process: network.spawn(host, r.name, process.execPath, [main], env),
        };
        replicas.push(replica);
        return replica;
      });
      for (const r of started) {
        await waitFor(
          async () => (await client!.request({ baseUrl: r.url }, 'GET', '/readyz')).status === 200,
          60_000,
          () => `${r.name} on ${r.host} did not become ready:\n${r.process.output()}`,
        );
      }
    }

    const runDir = path.join(network.stateDir, 'nginx');
    const config = renderNginxConfig({
      runDir,
      httpsListen: { host: gateway, port: 8443 },
      httpListen: { host: gateway, port: 8080 },
      tlsCert: tls.cert,
      tlsKey: tls.key,
      // The services trust X-Forwarded-* from this address only (TRUSTED_PROXIES).
      proxyBind: gateway,
      upstreams: gatewayUpstreams(plan, (r) => network.address(hostOf(r))),
      exposeReplicaHeader: true,
      credentialLimits: Object.fromEntries(
        credentialEndpointNames().map((name) => [name, { rate: '1000r/s', burst: 1000 }]),
      ),
    });
    const gatewayNginx = await startNginx({ runDir, config, netns: network.ns('gateway') });
    nginx = gatewayNginx;
    return {
      network,
      gatewayUrl,
      client,
      clientAddresses: network.addresses('client'),
      serviceHosts,
      replicas,
      async reloadGateway() {
        await gatewayNginx.reload();
        // The old workers close their idle client connections: start the clients on fresh ones.
        await client!.dropConnections();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Postgres (initdb run as the postgres user, listening on the data host's address only, its unix
 * socket in a private directory, trust for the subnet) and Redis on the data host.
 */
async function startDataHost(
  network: HostNetwork,
  processes: ManagedProcess[],
): Promise<{ databaseUrl: string; redisUrl: string }> {
  const address = network.address('data');
  const pg = path.join(network.stateDir, 'postgres');
  const data = path.join(pg, 'data');
  const sockets = path.join(pg, 'sockets');
  const uid = Number(await network.run('data', 'id', ['-u', 'postgres']));
  const gid = Number(await network.run('data', 'id', ['-g', 'postgres']));
  for (const dir of [pg, sockets]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, uid, gid);
  }
  await network.run('data', 'runuser', [
    '-u', 'postgres', '--', 'initdb', '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync',
  ]); // prettier-ignore
  appendFileSync(data + '/pg_hba.conf', `host all all ${HOSTS_SUBNET}.0/24 trust\n`);
  processes.push(
    network.spawn('data', 'postgres', 'runuser', [
      '-u', 'postgres', '--', 'postgres', '-D', data,
      '-c', `listen_addresses=${address}`, '-c', `unix_socket_directories=${sockets}`, '-c', 'port=5432',
      // A throwaway cluster: durability is not what the rehearsal measures.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200',
    ], {}), // prettier-ignore
  );
  const redisDir = path.join(network.stateDir, 'redis');
  mkdirSync(redisDir, { recursive: true, mode: 0o700 });
  processes.push(
    network.spawn('data', 'redis', 'redis-server', [
      '--bind', address, '--port', '6379', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--dir', redisDir, '--maxmemory-policy', 'noeviction',
    ], {}), // prettier-ignore
  );
  const [postgres, redis] = processes;
  await waitFor(
    async () => {
      await network.run('data', 'pg_isready', ['-q', '-h', address, '-p', '5432', '-U', 'postgres']);
      return true;
    },
    30_000,
    () => `Postgres on the data host did not come up:\n${postgres!.output()}`,
  );
  await waitFor(
    async () => (await network.run('data', 'redis-cli', ['-h', address, 'ping'])).trim() === 'PONG',
    30_000,
    () => `Redis on the data host did not come up:\n${redis!.output()}`,
  );
  return {
    databaseUrl: `postgresql://postgres@${address}:5432/concord`,
    redisUrl: `redis://${address}:6379`,
  };
}
