// docker-compose.yml, resolved by the real `docker-compose config` (no Docker engine needed) and
// validated against the compose-spec schema; it is what the renderer writes from the service list
// (proxy/deploy), and it keeps the contract of the local stack: every listed replica with an
// environment its service's own config schema accepts, start order by health, the gateway's
// upstreams at the replicas' ports, and services that trust exactly the gateway's one address.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { findNginx, renderNginxConfig } from '../../proxy/gateway';
import {
  CONTAINER_CONF_DIR,
  CONTAINER_RUN_DIR,
  composeGatewayOptions,
  renderComposeGateway,
} from '../../proxy/gateway/container-config';
import { readServiceList } from '../../proxy/service-list/service-list';
import { staleFiles } from '../../proxy/deploy/render';
import { readConfig as readAuthConfig } from '../../services/auth-service/src/config';
import { readConfig as readRealtimeConfig } from '../../services/realtime-service/src/config';
import { readConfig as readSettingsConfig } from '../../services/settings-service/src/config';
import {
  type ComposeService,
  loadCompose,
  parseDotenv,
  readRepoFile,
  referencedVariables,
  runComposeConfig,
} from './support/compose-file';
import { composeSchemaErrors } from './support/compose-schema';
import { unknownEnvNames } from '../support/config-names';

const execFileAsync = promisify(execFile);

const SERVICES = readServiceList();
const READ_CONFIG: Record<string, (env: Record<string, string | undefined>) => object> = {
  'auth-service': readAuthConfig,
  'settings-service': readSettingsConfig,
  'realtime-service': readRealtimeConfig,
};
const ENV_EXAMPLE = parseDotenv(readRepoFile('.env.example'));
/** .env.example with its empty secrets filled in, as a developer's .env would be. */
const TEST_ENV: Record<string, string> = {
  ...ENV_EXAMPLE,
  POSTGRES_PASSWORD: '6f1c0d8e4b2a97351c0d8e4b2a973516',
  REFRESH_TOKEN_SECRET: 'b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184',
};
const compose = loadCompose(TEST_ENV);
const services = compose.services;

function service(name: string): ComposeService {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** [compose name, service definition] of every replica the list asks for. */
const replicas = SERVICES.flatMap((s) =>
  Array.from({ length: s.replicas }, (_, i) => [`${s.name}-${i + 1}`, s] as const),
);

function gatewayAddress(): string {
  const networks = service('nginx').networks as Record<string, { ipv4_address?: string } | null>;
  const address = networks.backend?.ipv4_address;
  if (!address) throw new Error('nginx has no fixed ipv4_address on the backend network');
  return address;
}

/** `host:port` entries of one upstream block of a rendered nginx.conf. */
function upstreamServers(conf: string, name: string): string[] {
  const block = new RegExp(`upstream concord_${name} \\{([^}]*)\\}`).exec(conf)?.[1] ?? '';
  return [...block.matchAll(/server ([^ ;]+)/g)].map((m) => m[1] ?? '');
}

/** Volume name and container path of a `name:/path[:ro]` entry. */
function mountOf(s: ComposeService, volume: string): { target: string; readOnly: boolean } | undefined {
  for (const entry of s.volumes ?? []) {
    const [source, target, mode] = entry.split(':');
    if (source === volume && target) return { target, readOnly: mode === 'ro' };
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  it('is exactly what the renderer writes from the service list (npm run render)', () => {
    expect(staleFiles().filter((f) => f === 'docker-compose.yml')).toEqual([]);
  });

  it('validates against the compose-spec JSON schema, as written and as docker-compose resolves it', () => {
    expect(composeSchemaErrors(compose)).toEqual([]);
  });

  it('the schema check is not a no-op: it rejects a misspelt key and a bad depends_on condition', () => {
    const broken = structuredClone(compose) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    (broken.services.nginx ?? {}).helthcheck = { test: ['CMD', 'true'] };
    (broken.services.migrate ?? {}).depends_on = { postgres: { condition: 'service_ready' } };
    expect(composeSchemaErrors(broken).length).toBeGreaterThanOrEqual(2);
  });

  it('every variable it substitutes is documented in .env.example, and every one there is used', () => {
    const used = referencedVariables(readRepoFile('docker-compose.yml'));
    const documented = new Set(Object.keys(ENV_EXAMPLE));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    expect([...documented].filter((v) => !used.has(v) && !v.startsWith('COMPOSE_'))).toEqual([]);
  });

  it('.env.example explains every variable in a comment right above it', () => {
    const lines = readRepoFile('.env.example').split('\n');
    lines.forEach((line, i) => {
      if (/^[A-Z_]+=/.test(line)) expect([line, lines[i - 1]?.startsWith('#')]).toEqual([line, true]);
    });
  });

  it.each(['POSTGRES_PASSWORD', 'REFRESH_TOKEN_SECRET'])(
    'docker-compose refuses to start while %s is empty',
    (name) => {
      const run = runComposeConfig({ ...TEST_ENV, [name]: '' });

      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`set ${name} in .env`);
    },
  );

  it('runs every replica of the service list, each with its own REPLICA_ID', () => {
    expect(replicas.map(([name]) => [name, service(name).environment?.REPLICA_ID])).toEqual(
      replicas.map(([name]) => [name, name]),
    );
    expect(replicas).toHaveLength(6);
  });

  it.each(replicas.map(([name]) => name))(
    '%s: the environment parses with its service’s own config schema, with known names only, on the list’s ports',
    (name) => {
      const s = replicas.find(([n]) => n === name)![1];
      const env = service(name).environment ?? {};
      const config = READ_CONFIG[s.name]!(env) as Record<string, unknown>;

      expect(unknownEnvNames(env, config)).toEqual([]);
      expect([config.HOST, config.PORT, config.METRICS_PORT, config.INTERNAL_PORT]).toEqual([
        '0.0.0.0',
        s.ports.http,
        s.ports.metrics,
        s.ports.internal,
      ]);
      expect([config.EXPOSE_REPLICA_HEADER, config.JWT_ISSUER]).toEqual([true, 'https://localhost:8443']);
    },
  );

  it('only auth-service’s replicas receive REFRESH_TOKEN_SECRET and the signing-key volume', () => {
    const holders = Object.entries(services)
      .filter(([, s]) => s.environment?.REFRESH_TOKEN_SECRET !== undefined || mountOf(s, 'jwt-keys'))
      .map(([name]) => name);

    expect(holders).toEqual(['auth-service-1', 'auth-service-2', 'keys']);
  });

  it('settings-service has the bench namespace (local profile)', () => {
    for (const [name, s] of replicas) {
      expect([name, service(name).environment?.SETTINGS_BENCH_NAMESPACE]).toEqual([
        name,
        s.name === 'settings-service' ? 'true' : undefined,
      ]);
    }
  });

  it('the JWKS consumers fetch the JWKS from auth’s internal listener, never its API port', () => {
    const authAliases = (service('auth-service-1').networks as Record<string, { aliases?: string[] }>).backend
      ?.aliases;
    for (const [name, s] of replicas.filter(([, x]) => x.jwks === 'consumer')) {
      const jwks = new URL(service(name).environment?.JWKS_URL ?? '');
      expect([name, authAliases]).toEqual([name, expect.arrayContaining([jwks.hostname])]);
      expect([name, Number(jwks.port)]).toEqual([name, 4111]);
      expect(s.jwks).toBe('consumer');
    }
  });

  it('every TRUSTED_PROXIES is exactly the gateway’s fixed address, never a /0', () => {
    const values = Object.values(services).flatMap((s) =>
      s.environment?.TRUSTED_PROXIES === undefined ? [] : [s.environment.TRUSTED_PROXIES],
    );
    expect(values).toEqual(replicas.map(() => `${gatewayAddress()}/32`));
    expect(readRepoFile('docker-compose.yml')).not.toMatch(/(0\.0\.0\.0|::)\/0/);
  });

  it('the gateway’s upstreams are every replica at its PORT, reached from the trusted address', () => {
    const conf = renderNginxConfig(composeGatewayOptions(service('gateway-init').environment ?? {}));
    for (const s of SERVICES) {
      const expected = replicas
        .filter(([, x]) => x === s)
        .map(([name]) => `${name}:${service(name).environment?.PORT}`);
      expect([s.upstream, upstreamServers(conf, s.upstream)]).toEqual([s.upstream, expected]);
    }
    expect([...new Set([...conf.matchAll(/proxy_bind ([^;]+);/g)].map((m) => m[1]))]).toEqual([
      gatewayAddress(),
    ]);
    expect(conf).not.toContain('proxy_hide_header X-Concord-Replica');
  });

  it('nginx listens on 8443/8080, published on 127.0.0.1 only; nothing else is published', () => {
    expect(service('nginx').ports).toEqual(['127.0.0.1:8443:8443/tcp', '127.0.0.1:8080:8080/tcp']);
    for (const [name, s] of Object.entries(services))
      if (name !== 'nginx') expect([name, s.ports]).toEqual([name, undefined]);
  });

  it('nginx reads the config and TLS material that gateway-init writes', () => {
    const init = service('gateway-init');
    const nginx = service('nginx');
    const out = init.command?.[init.command.indexOf('--out') + 1];
    expect(init.command?.slice(0, 3)).toEqual(['node', 'proxy/gateway/container-config.js', 'compose']);
    expect(mountOf(init, 'gateway')?.target).toBe(out);
    expect(mountOf(nginx, 'gateway')).toEqual({ target: path.dirname(CONTAINER_CONF_DIR), readOnly: true });
    expect(nginx.entrypoint?.join(' ')).toContain(`exec nginx -c ${CONTAINER_CONF_DIR}/nginx.conf`);
    expect(nginx.tmpfs).toEqual([CONTAINER_RUN_DIR]);
    expect([nginx.user, init.user?.split(':')[1], init.build?.target]).toEqual([
      '101:101',
      '101',
      'local-tools',
    ]);
  });

  it('starts in order: Postgres healthy -> migrate, keys -> auth healthy -> its consumers healthy -> nginx', () => {
    expect(service('migrate').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const [name, s] of replicas) {
      expect(service(name).depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        ...(s.jwks === 'provider' ? { keys: { condition: 'service_completed_successfully' } } : {}),
        ...(s.jwks === 'consumer'
          ? {
              'auth-service-1': { condition: 'service_healthy' },
              'auth-service-2': { condition: 'service_healthy' },
            }
          : {}),
      });
    }
    expect(service('nginx').depends_on).toEqual({
      'gateway-init': { condition: 'service_completed_successfully' },
      ...Object.fromEntries(replicas.map(([name]) => [name, { condition: 'service_healthy' }])),
    });
  });

  it('every replica’s healthcheck asks /readyz on its own PORT', () => {
    for (const [name] of replicas) {
      const test = service(name).healthcheck?.test ?? [];
      expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(test[3]).toContain("'http://127.0.0.1:'+process.env.PORT+'/readyz'");
    }
    expect(service('redis').healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('Postgres 15 and a Redis 7 that keeps nothing on disk', () => {
    expect([service('postgres').image, service('redis').image]).toEqual(['postgres:15', 'redis:7']);
    expect(service('redis').command).toEqual(['redis-server', '--save', '', '--appendonly', 'no']);
  });

  it('keys creates the signing-key file auth reads, which its replicas mount read-only', () => {
    const file = service('auth-service-1').environment?.JWT_KEYS_FILE ?? '';
    expect(service('keys').command).toEqual([
      'node',
      'services/auth-service/dist/keys-cli.js',
      'init',
      '--file',
      file,
    ]);
    const dir = path.posix.dirname(file);
    expect(mountOf(service('keys'), 'jwt-keys')).toEqual({ target: dir, readOnly: false });
    for (const name of ['auth-service-1', 'auth-service-2'])
      expect(mountOf(service(name), 'jwt-keys')).toEqual({ target: dir, readOnly: true });
  });

  it('Concord containers are read-only, drop every capability and never run as root', () => {
    const concord = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(concord.map(([n]) => n).sort()).toEqual(
      [...replicas.map(([n]) => n), 'gateway-init', 'keys', 'migrate'].sort(),
    );
    for (const [name, s] of [...concord, ['nginx', service('nginx')] as const]) {
      expect([name, s.read_only, s.cap_drop, s.security_opt]).toEqual([
        name,
        true,
        ['ALL'],
        ['no-new-privileges:true'],
      ]);
      expect(s.user === undefined || !/^(0|root)(:|$)/.test(s.user)).toBe(true);
    }
  });

  it('the one-shots without network needs run without a network; the data stores stay internal', () => {
    expect([service('keys').network_mode, service('gateway-init').network_mode]).toEqual(['none', 'none']);
    expect(compose.networks?.backend?.internal).toBe(true);
    expect([service('postgres').networks, service('redis').networks]).toEqual([
      { backend: null },
      { backend: null },
    ]);
  });
});

describe('gateway-init (proxy/gateway/container-config.js compose)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'concord-gateway-init-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes nginx.conf and TLS material that only the nginx group may read', async () => {
    const env = service('gateway-init').environment ?? {};
    await renderComposeGateway(dir, env);
    const conf = await readFile(path.join(dir, 'conf/nginx.conf'), 'utf8');
    expect(conf).toBe(renderNginxConfig(composeGatewayOptions(env)));
    const mode = async (rel: string) => (await stat(path.join(dir, rel))).mode & 0o777;
    expect([await mode('tls'), await mode('tls/server.key'), await mode('tls/ca.key')]).toEqual([
      0o750, 0o640, 0o600,
    ]);
  });

  it('nginx accepts the compose gateway configuration (nginx -t)', async () => {
    const env = service('gateway-init').environment ?? {};
    await renderComposeGateway(dir, env);
    // The container paths do not exist here: the same options with this run's directories, and the
    // replicas' compose host names (unresolvable outside compose) replaced by loopback.
    const options = composeGatewayOptions(env);
    const runDir = path.join(dir, 'run');
    await mkdir(runDir, { recursive: true });
    const conf = renderNginxConfig({
      ...options,
      runDir,
      tlsCert: path.join(dir, 'tls/server.crt'),
      tlsKey: path.join(dir, 'tls/server.key'),
      upstreams: Object.fromEntries(
        Object.entries(options.upstreams).map(([k, v]) => [
          k,
          (v ?? []).map((s) => s.replace(/^[^:]+/, '127.0.0.1')),
        ]),
      ),
    });
    const file = path.join(dir, 'nginx-test.conf');
    await writeFile(file, conf);
    const { stderr } = await execFileAsync(findNginx(), [
      '-t',
      '-q',
      '-c',
      file,
      '-e',
      path.join(runDir, 'error.log'),
    ]).catch((err: { stderr?: string }) => ({ stderr: err.stderr ?? String(err) }));
    expect(stderr.trim()).toBe('');
  });
});
