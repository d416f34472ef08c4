// docker-compose.yml, checked offline (no Docker engine here): it validates against the compose-spec
// schema after interpolation, and it keeps the contract of the local stack (proxy/stack.js): canonical
// env names that auth-service's own config schema accepts, two auth replicas behind nginx, upstream
// ports equal to the replicas' PORT, and services that trust exactly the gateway's one address.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { findNginx, renderNginxConfig } from '../../proxy/nginx';
import { readConfig } from '../../services/auth-service/src/config';
import {
  CONTAINER_CONF_DIR,
  CONTAINER_RUN_DIR,
  composeGatewayOptions,
  renderComposeGateway,
} from '../../k8s/render-gateway-config';
import {
  type ComposeService,
  MissingVariableError,
  interpolate,
  loadCompose,
  parseComposeYaml,
  parseDotenv,
  readRepoFile,
  referencedVariables,
} from './support/compose-file';
import { composeSchemaErrors } from './support/compose-schema';

const execFileAsync = promisify(execFile);

const ENV_EXAMPLE = parseDotenv(readRepoFile('.env.example'));
/** .env.example with its empty secrets filled in, as a developer's .env would be. */
const TEST_ENV: Record<string, string> = {
  ...ENV_EXAMPLE,
  POSTGRES_PASSWORD: '6f1c0d8e4b2a97351c0d8e4b2a973516',
  REFRESH_TOKEN_SECRET: 'b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184',
};
const compose = loadCompose(TEST_ENV);
const services = compose.services;
const AUTH_MAIN = ['node', 'services/auth-service/dist/main.js'];

function service(name: string): ComposeService {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

const authReplicas = Object.entries(services).filter(
  ([, s]) => JSON.stringify(s.command) === JSON.stringify(AUTH_MAIN),
);

/** The nginx service's fixed address on the backend network. */
function gatewayAddress(): string {
  const networks = service('nginx').networks as Record<string, { ipv4_address?: string } | null>;
  const address = networks.backend?.ipv4_address;
  if (!address) throw new Error('nginx has no fixed ipv4_address on the backend network');
  return address;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function inSubnet(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base) / size);
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
  it('validates against the compose-spec JSON schema', () => {
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
    // COMPOSE_* are read by compose itself, not substituted.
    expect([...documented].filter((v) => !used.has(v) && !v.startsWith('COMPOSE_'))).toEqual([]);
  });

  it('.env.example explains every variable in a comment right above it', () => {
    const lines = readRepoFile('.env.example').split('\n');
    lines.forEach((line, i) => {
      if (/^[A-Z_]+=/.test(line)) expect([line, lines[i - 1]?.startsWith('#')]).toEqual([line, true]);
    });
  });

  it.each(['POSTGRES_PASSWORD', 'REFRESH_TOKEN_SECRET'])('refuses to start while %s is empty', (name) => {
    const text = readRepoFile('docker-compose.yml');
    expect(() => interpolate(text, { ...TEST_ENV, [name]: '' })).toThrow(MissingVariableError);
  });

  it('runs two auth-service replicas, each with its own REPLICA_ID', () => {
    expect(authReplicas.map(([name]) => name)).toEqual(['auth-service-1', 'auth-service-2']);
    expect(authReplicas.map(([name, s]) => [name, s.environment?.REPLICA_ID])).toEqual([
      ['auth-service-1', 'auth-service-1'],
      ['auth-service-2', 'auth-service-2'],
    ]);
  });

  it.each(['auth-service-1', 'auth-service-2'])(
    '%s: the environment parses with auth-service’s config schema and uses canonical names only',
    (name) => {
      const env = service(name).environment ?? {};
      const config = readConfig(env) as Record<string, unknown>;
      const known = new Set(Object.keys(config));
      expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
      expect(config).toMatchObject({
        HOST: '0.0.0.0',
        PORT: 4101,
        INTERNAL_PORT: 4111,
        METRICS_PORT: 9101,
        EXPOSE_REPLICA_HEADER: true,
        JWT_ISSUER: 'https://localhost:8443',
        REDIS_PREFIX: 'concord:',
      });
      // The same names as the local stack sets for its replicas (proxy/stack.js).
      for (const k of [
        'DATABASE_URL',
        'REDIS_URL',
        'TRUSTED_PROXIES',
        'JWT_KEYS_FILE',
        'JWKS_URL',
        'INTERNAL_PORT',
        'REFRESH_TOKEN_SECRET',
      ]) {
        expect(Object.keys(env)).toContain(k);
      }
    },
  );

  it('JWKS_URL points at the auth replicas’ internal listener, never at their API port', () => {
    for (const [name, s] of authReplicas) {
      const env = s.environment ?? {};
      const config = readConfig(env) as { PORT: number; INTERNAL_PORT?: number };
      const jwks = new URL(env.JWKS_URL ?? '');
      const aliases = (s.networks as Record<string, { aliases?: string[] }>).backend?.aliases ?? [];

      expect([name, aliases]).toEqual([name, expect.arrayContaining([jwks.hostname])]);
      expect([name, Number(jwks.port)]).toEqual([name, config.INTERNAL_PORT]);
      expect([name, Number(jwks.port)]).not.toEqual([name, config.PORT]);
      expect(jwks.pathname).toBe('/.well-known/jwks.json');
    }
  });

  it('every TRUSTED_PROXIES is exactly the gateway’s fixed address, never a /0', () => {
    const address = gatewayAddress();
    const subnet = compose.networks?.backend?.ipam?.config?.[0]?.subnet ?? '';
    expect(inSubnet(address, subnet)).toBe(true);
    const values = Object.values(services).flatMap((s) =>
      s.environment?.TRUSTED_PROXIES === undefined ? [] : [s.environment.TRUSTED_PROXIES],
    );
    expect(values.length).toBe(authReplicas.length);
    for (const v of values) {
      expect(v).not.toMatch(/\/0\b/);
      expect(v).toBe(`${address}/32`);
    }
    // The defaults in the file too, whatever .env says: no /0 in any value.
    expect(JSON.stringify(parseComposeYaml(readRepoFile('docker-compose.yml')))).not.toMatch(
      /(0\.0\.0\.0|::)\/0/,
    );
  });

  it('the gateway’s upstreams are the auth replicas at their PORT, reached from the trusted address', () => {
    const env = service('gateway-init').environment ?? {};
    const conf = renderNginxConfig(composeGatewayOptions(env));
    const replicas = authReplicas.map(([name, s]) => `${name}:${s.environment?.PORT}`);
    expect(upstreamServers(conf, 'auth').sort()).toEqual(replicas.sort());
    expect(upstreamServers(conf, 'settings')).toEqual([]);
    expect(upstreamServers(conf, 'realtime')).toEqual([]);
    const binds = new Set([...conf.matchAll(/proxy_bind ([^;]+);/g)].map((m) => m[1]));
    expect([...binds]).toEqual([gatewayAddress()]);
    // The local profile passes X-Concord-Replica through, like the services' EXPOSE_REPLICA_HEADER.
    expect(conf).not.toContain('proxy_hide_header X-Concord-Replica');
    // Each replica is on the backend network that nginx reaches it through.
    for (const [, s] of authReplicas) expect(Object.keys(s.networks ?? {})).toEqual(['backend']);
  });

  it('nginx listens on 8443/8080, published on 127.0.0.1 only; nothing else is published', () => {
    const conf = renderNginxConfig(composeGatewayOptions(service('gateway-init').environment ?? {}));
    const listens = [...conf.matchAll(/listen [\d.]+:(\d+)/g)].map((m) => m[1]);
    expect(service('nginx').ports).toEqual(listens.map((p) => `127.0.0.1:${p}:${p}`));
    expect(listens).toEqual(['8443', '8080']);
    for (const [name, s] of Object.entries(services))
      if (name !== 'nginx') expect([name, s.ports]).toEqual([name, undefined]);
  });

  it('nginx reads the config and TLS material that gateway-init writes', () => {
    const init = service('gateway-init');
    const nginx = service('nginx');
    const out = init.command?.[init.command.indexOf('--out') + 1];
    expect(init.command?.slice(0, 3)).toEqual(['node', 'k8s/render-gateway-config.js', 'compose']);
    expect(mountOf(init, 'gateway')?.target).toBe(out);
    expect(mountOf(nginx, 'gateway')).toEqual({ target: path.dirname(CONTAINER_CONF_DIR), readOnly: true });
    expect(nginx.entrypoint?.join(' ')).toContain(`exec nginx -c ${CONTAINER_CONF_DIR}/nginx.conf`);
    expect(nginx.tmpfs).toEqual([CONTAINER_RUN_DIR]);
    // gateway-init shares nginx's group (101), through which nginx reads the server key.
    expect(nginx.user).toBe('101:101');
    expect(init.user?.split(':')[1]).toBe('101');
    expect(init.build?.target).toBe('local-tools');
  });

  it('starts in order: Postgres healthy -> migrate, keys -> auth replicas healthy -> nginx', () => {
    expect(service('migrate').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const [, s] of authReplicas) {
      expect(s.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        keys: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(service('nginx').depends_on).toEqual({
      'gateway-init': { condition: 'service_completed_successfully' },
      ...Object.fromEntries(authReplicas.map(([name]) => [name, { condition: 'service_healthy' }])),
    });
  });

  it('the replicas’ healthcheck asks /readyz on their own PORT', () => {
    for (const [, s] of authReplicas) {
      const test = s.healthcheck?.test ?? [];
      expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(test[3]).toContain("'http://127.0.0.1:'+process.env.PORT+'/readyz'");
    }
    expect(service('postgres').healthcheck?.test).toBeDefined();
    expect(service('redis').healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('Postgres 15 and a Redis 7 that keeps nothing on disk', () => {
    expect(service('postgres').image).toBe('postgres:15');
    expect(service('redis').image).toBe('redis:7');
    expect(service('redis').command).toEqual(['redis-server', '--save', '', '--appendonly', 'no']);
  });

  it('keys creates the signing-key file the replicas read, which they mount read-only', () => {
    const keys = service('keys');
    const file = authReplicas[0]?.[1].environment?.JWT_KEYS_FILE ?? '';
    expect(keys.command).toEqual(['node', 'services/auth-service/dist/keys-cli.js', 'init', '--file', file]);
    const dir = path.posix.dirname(file);
    expect(mountOf(keys, 'jwt-keys')).toEqual({ target: dir, readOnly: false });
    for (const [, s] of authReplicas) expect(mountOf(s, 'jwt-keys')).toEqual({ target: dir, readOnly: true });
  });

  it('migrate runs the migrator against the services’ database', () => {
    const migrate = service('migrate');
    expect(migrate.command).toEqual(['node', 'libs/db/dist/migrate-cli.js']);
    for (const [, s] of authReplicas)
      expect(s.environment?.DATABASE_URL).toBe(migrate.environment?.DATABASE_URL);
    expect(service('postgres').environment?.POSTGRES_PASSWORD).toBe(TEST_ENV.POSTGRES_PASSWORD);
  });

  it('Concord containers are read-only, drop every capability and run as the image’s non-root user', () => {
    const concord = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(concord.map(([n]) => n).sort()).toEqual(
      ['auth-service-1', 'auth-service-2', 'gateway-init', 'keys', 'migrate'].sort(),
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

  it('only the one-shots without network needs run without a network; the data stores stay internal', () => {
    expect(service('keys').network_mode).toBe('none');
    expect(service('gateway-init').network_mode).toBe('none');
    expect(compose.networks?.backend?.internal).toBe(true);
    expect(service('postgres').networks).toEqual(['backend']);
    expect(service('redis').networks).toEqual(['backend']);
  });

  it('the raw file parses to the same document before interpolation (no interpolation in keys)', () => {
    const raw = parseComposeYaml(readRepoFile('docker-compose.yml')) as { services: object };
    expect(Object.keys(raw.services)).toEqual(Object.keys(services));
  });
});

/** proxy/tls.js runs `openssl` from PATH. */
const opensslFound = (process.env.PATH ?? '')
  .split(path.delimiter)
  .some((dir) => dir !== '' && existsSync(path.join(dir, 'openssl')));

describe('gateway-init (k8s/render-gateway-config.js compose)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'concord-gateway-init-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  (opensslFound ? it : it.skip)(
    'writes nginx.conf and TLS material that only the nginx group may read',
    async () => {
      const env = service('gateway-init').environment ?? {};
      await renderComposeGateway(dir, env);
      const conf = await readFile(path.join(dir, 'conf/nginx.conf'), 'utf8');
      expect(conf).toBe(renderNginxConfig(composeGatewayOptions(env)));
      const mode = async (rel: string) => (await stat(path.join(dir, rel))).mode & 0o777;
      expect(await mode('tls')).toBe(0o750);
      expect(await mode('tls/server.key')).toBe(0o640);
      expect(await mode('tls/ca.key')).toBe(0o600);
      expect((await mode('tls/server.crt')) & 0o044).toBe(0o044);
    },
  );

  let nginx: string | undefined;
  try {
    nginx = findNginx();
  } catch {
    nginx = undefined;
  }

  (nginx && opensslFound ? it : it.skip)(
    'nginx accepts the compose gateway configuration (nginx -t)',
    async () => {
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
        upstreams: { auth: (options.upstreams.auth ?? []).map((s) => s.replace(/^[^:]+/, '127.0.0.1')) },
      });
      const file = path.join(dir, 'nginx-test.conf');
      await writeFile(file, conf);
      const args = ['-t', '-q', '-c', file, '-e', path.join(runDir, 'error.log')];
      const { stderr } = await execFileAsync(nginx ?? 'nginx', args).catch((err: { stderr?: string }) => ({
        stderr: err.stderr ?? String(err),
      }));
      expect(stderr.trim()).toBe('');
    },
  );
});
