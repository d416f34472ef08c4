// @ts-check
'use strict';
// The local stack behind `npm start` (DESIGN.md section 2): TLS material, signing keys and secrets in
// .run/, migrations, two replicas of each service, and nginx in front. Runs in the foreground; Ctrl-C
// stops the gateway first, then drains every replica.

const crypto = require('node:crypto');
const fs = require('node:fs/promises');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const { startChild, runToCompletion, kill } = require('./child-process');
const { portsInUse, canBind, probeReady } = require('./net-checks');
const { renderNginxConfig, startNginx } = require('./nginx');
const { ensureTlsMaterial } = require('./tls');

/**
 * @typedef {object} StackContext values a service entry may need in its environment
 * @property {string} jwtKeysFile
 * @property {string} refreshTokenSecret
 *
 * @typedef {object} ServiceEntry
 * @property {string} service workspace name under services/, e.g. `auth-service`
 * @property {'auth' | 'settings' | 'realtime'} upstream gateway upstream it serves
 * @property {Array<{ http: number, metrics: number, internal?: number }>} ports one entry per
 *   replica; `internal` is auth-service's INTERNAL_PORT (JWKS and health for the other services)
 * @property {(ctx: StackContext) => Record<string, string>} [env] service-specific variables (secrets
 *   go only to the service that needs them)
 */

/**
 * The replicas of the local stack. Adding settings-service or realtime-service is one entry each:
 *   { service: 'settings-service', upstream: 'settings', ports: [{ http: 4201, metrics: 9201 }, { http: 4202, metrics: 9202 }] }
 *   { service: 'realtime-service', upstream: 'realtime', ports: [{ http: 4301, metrics: 9301 }, { http: 4302, metrics: 9302 }] }
 * @type {ServiceEntry[]}
 */
const SERVICES = [
  {
    service: 'auth-service',
    upstream: 'auth',
    ports: [
      { http: 4101, metrics: 9101, internal: 4111 },
      { http: 4102, metrics: 9102, internal: 4112 },
    ],
    env: (ctx) => ({ JWT_KEYS_FILE: ctx.jwtKeysFile, REFRESH_TOKEN_SECRET: ctx.refreshTokenSecret }),
  },
];

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/concord';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const PROXY_ADDRESS = '127.0.0.2';
const READY_TIMEOUT_MS = 60_000;
// Longer than a replica's own drain (in-flight requests, sockets) so SIGKILL is only for hung ones.
const STOP_TIMEOUT_MS = 15_000;

/**
 * @typedef {object} StackOptions
 * @property {string} [root] repository root (default: the parent of this folder)
 * @property {ServiceEntry[]} [services]
 * @property {number} [httpsPort] default 8443
 * @property {number} [httpPort] default 8080
 */

/**
 * Runs the local stack until SIGINT/SIGTERM (resolves 0) or until any part of it fails (resolves 1).
 * @param {StackOptions} [options]
 * @returns {Promise<number>} exit code
 */
async function runStack(options = {}) {
  const root = options.root ?? path.resolve(__dirname, '..');
  const services = options.services ?? SERVICES;
  const httpsPort = options.httpsPort ?? 8443;
  const httpPort = options.httpPort ?? 8080;
  const publicUrl = httpsPort === 443 ? 'https://localhost' : `https://localhost:${httpsPort}`;
  const runDir = path.join(root, '.run');
  const env = process.env;
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const redisUrl = env.REDIS_URL || DEFAULT_REDIS_URL;

  /** @type {import('./child-process').ManagedChild[]} */
  const children = [];
  /** @type {import('./nginx').NginxHandle | undefined} */
  let nginx;
  /** @type {Promise<number> | undefined} */
  let stopping;
  /** @type {(code: number) => void} */
  let finish = () => {};
  const finished = new Promise((resolve) => (finish = resolve));

  /** @param {string} reason @param {number} code */
  const shutdown = (reason, code) => {
    stopping ??= (async () => {
      log(`stopping (${reason})`);
      let failed = false;
      if (nginx) {
        try {
          await nginx.stop();
        } catch (err) {
          failed = true;
          log(`nginx did not stop cleanly: ${message(err)}`);
        }
      }
      const results = await Promise.allSettled(children.map((c) => c.stop(STOP_TIMEOUT_MS)));
      for (const r of results) {
        if (r.status === 'rejected') {
          failed = true;
          log(`a replica did not stop cleanly: ${message(r.reason)}`);
        }
      }
      log('stopped');
      return failed && code === 0 ? 1 : code;
    })();
    void stopping.then(finish);
    return stopping;
  };

  let interrupts = 0;
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    interrupts += 1;
    if (interrupts > 1) {
      // A second Ctrl-C means "now": nothing graceful is left to wait for.
      log(`${signal} again: killing everything`);
      if (nginx) kill(-nginx.pid, 'SIGKILL');
      for (const c of children)
        if (c.child.pid !== undefined && !c.hasExited()) kill(-c.child.pid, 'SIGKILL');
      process.exit(130);
    }
    void shutdown(signal, 0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort if the runner itself crashes: never leave replicas or nginx behind.
  const onExit = () => {
    if (nginx) kill(-nginx.pid, 'SIGKILL');
    for (const c of children) if (c.child.pid !== undefined && !c.hasExited()) kill(-c.child.pid, 'SIGKILL');
  };
  process.on('exit', onExit);

  try {
    const replicas = stackReplicas(services);
    const jwksUrl = jwksUrlOf(replicas);

    await assertBuilt(root, services);
    if (!(await canBind(PROXY_ADDRESS))) {
      throw new StackError(
        `cannot bind ${PROXY_ADDRESS}: nginx connects to the services from it (proxy_bind). ` +
          `On macOS add it with: sudo ifconfig lo0 alias ${PROXY_ADDRESS} up`,
      );
    }
    const ipv6 = await canBind('::1');
    const gatewayHosts = ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
    const busy = await portsInUse([
      ...replicas.flatMap((r) => [
        { host: '127.0.0.1', port: r.port, what: `${r.name} http` },
        { host: '127.0.0.1', port: r.metricsPort, what: `${r.name} metrics` },
        ...(r.internalPort === undefined
          ? []
          : [{ host: '127.0.0.1', port: r.internalPort, what: `${r.name} internal` }]),
      ]),
      ...gatewayHosts.flatMap((host) => [
        { host, port: httpsPort, what: 'gateway https' },
        { host, port: httpPort, what: 'gateway http' },
      ]),
    ]);
    if (busy.length > 0) {
      const lines = busy.map(
        (b) => `  ${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port} (${b.what})`,
      );
      throw new StackError(
        `ports already in use:\n${lines.join('\n')}\n` +
          `Is another \`npm start\` running? See who holds one with: ss -ltnp 'sport = :${busy[0]?.port}'`,
      );
    }

    const tlsMaterial = await ensureTlsMaterial(path.join(runDir, 'tls'));
    const keysDir = path.join(runDir, 'keys');
    await fs.mkdir(keysDir, { recursive: true, mode: 0o700 });
    const jwtKeysFile = path.join(keysDir, 'jwt-keys.json');
    await ensureJwtKeys(root, jwtKeysFile);
    const refreshTokenSecret = await ensureSecret(path.join(keysDir, 'refresh-secret'));
    if (stopping) return await stopping;

    log(`applying migrations to ${redactUrl(databaseUrl)}`);
    const migrate = await runToCompletion(
      'migrate',
      process.execPath,
      [path.join(root, 'libs/db/dist/migrate-cli.js')],
      { cwd: root, env: { ...env, DATABASE_URL: databaseUrl } },
    );
    if (migrate.code !== 0) {
      throw new StackError(
        `migrations failed (exit ${migrate.code ?? migrate.signal}); is Postgres up? (bash .ci/setup.sh starts it)`,
      );
    }
    if (stopping) return await stopping;

    /** @type {StackContext} */
    const ctx = { jwtKeysFile, refreshTokenSecret };
    for (const r of replicas) {
      const childEnv = {
        ...env,
        ...replicaEnv(r, {
          ctx,
          databaseUrl,
          redisUrl,
          redisPrefix: env.REDIS_PREFIX || 'concord:',
          publicUrl,
          jwksUrl,
          logLevel: env.LOG_LEVEL || 'info',
        }),
      };
      const child = startChild(
        r.name,
        process.execPath,
        [path.join(root, `services/${r.entry.service}/dist/main.js`)],
        {
          cwd: root,
          env: childEnv,
          detached: true,
        },
      );
      children.push(child);
      void child.exited.then(({ code, signal }) => {
        if (stopping) return;
        log(`${r.name} exited unexpectedly (${signal ?? `code ${code}`}); its last lines:`);
        for (const line of child.tail.slice(-20)) process.stdout.write(`  | ${line}\n`);
        void shutdown(`${r.name} died`, 1);
      });
    }

    await waitForReadiness(replicas, () => stopping !== undefined);
    if (stopping) return await stopping;

    /** @type {Record<'auth' | 'settings' | 'realtime', string[]>} */
    const upstreams = { auth: [], settings: [], realtime: [] };
    for (const r of replicas) upstreams[r.entry.upstream].push(`127.0.0.1:${r.port}`);
    const nginxRunDir = path.join(runDir, 'nginx');
    const config = renderNginxConfig({
      runDir: nginxRunDir,
      httpsListen: gatewayHosts.map((host) => ({ host, port: httpsPort })),
      httpListen: gatewayHosts.map((host) => ({ host, port: httpPort })),
      tlsCert: tlsMaterial.cert,
      tlsKey: tlsMaterial.key,
      proxyBind: PROXY_ADDRESS,
      upstreams,
      exposeReplicaHeader: true,
    });
    nginx = await startNginx({ runDir: nginxRunDir, config, onOutput: (line) => log(`nginx: ${line}`) });
    void nginx.exited.then(({ code, signal }) => {
      if (stopping) return;
      log(
        `nginx exited unexpectedly (${signal ?? `code ${code}`}); see ${path.join(nginxRunDir, 'error.log')}`,
      );
      void shutdown('nginx died', 1);
    });
    if (stopping) return await stopping;

    printBanner({ publicUrl, httpPort, caCert: tlsMaterial.caCert, nginxRunDir, replicas, ipv6 });
  } catch (err) {
    if (err instanceof StackError) log(`error: ${err.message}`);
    else log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return await shutdown('start-up failed', 1);
  } finally {
    void finished.then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    });
  }
  return await finished;
}

/** A failure the user can fix from the message alone (no stack trace needed). */
class StackError extends Error {}

/**
 * @typedef {object} StackReplica
 * @property {ServiceEntry} entry
 * @property {string} name e.g. `auth-service-1`
 * @property {number} port
 * @property {number} metricsPort
 * @property {number} [internalPort]
 */

/**
 * One row per replica of every entry; auth replicas must have an internal port.
 * @param {ServiceEntry[]} services
 * @returns {StackReplica[]}
 */
function stackReplicas(services) {
  return services.flatMap((s) =>
    s.ports.map((p, i) => {
      const name = `${s.service}-${i + 1}`;
      if (s.upstream === 'auth' && p.internal === undefined) {
        throw new StackError(`${name} needs an internal port: the other services fetch the JWKS there`);
      }
      return { entry: s, name, port: p.http, metricsPort: p.metrics, internalPort: p.internal };
    }),
  );
}

/**
 * The verifiers' JWKS_URL: the first auth replica's internal listener, which serves only the JWKS and
 * health and never reads X-Forwarded-* (DESIGN.md section 4) — never an API port.
 * @param {StackReplica[]} replicas
 * @returns {string}
 */
function jwksUrlOf(replicas) {
  const auth = replicas.find((r) => r.entry.upstream === 'auth');
  if (!auth?.internalPort)
    throw new StackError('the stack needs an auth-service replica (JWKS_URL points at it)');
  return `http://127.0.0.1:${auth.internalPort}/.well-known/jwks.json`;
}

/**
 * The variables the stack sets for one replica, on top of the runner's own environment.
 * @param {StackReplica} r
 * @param {{ ctx: StackContext, databaseUrl: string, redisUrl: string, redisPrefix: string,
 *   publicUrl: string, jwksUrl: string, logLevel: string }} shared
 * @returns {Record<string, string>}
 */
function replicaEnv(r, shared) {
  return {
    HOST: '127.0.0.1',
    PORT: String(r.port),
    METRICS_PORT: String(r.metricsPort),
    ...(r.internalPort === undefined ? {} : { INTERNAL_PORT: String(r.internalPort) }),
    REPLICA_ID: r.name,
    DATABASE_URL: shared.databaseUrl,
    REDIS_URL: shared.redisUrl,
    REDIS_PREFIX: shared.redisPrefix,
    TRUSTED_PROXIES: `${PROXY_ADDRESS}/32`,
    JWT_ISSUER: shared.publicUrl,
    JWT_AUDIENCE: 'concord',
    // Every service gets it (auth itself verifies with its key file and ignores it).
    JWKS_URL: shared.jwksUrl,
    EXPOSE_REPLICA_HEADER: 'true',
    LOG_LEVEL: shared.logLevel,
    ...r.entry.env?.(shared.ctx),
  };
}

/**
 * @param {string} root
 * @param {ServiceEntry[]} services
 */
async function assertBuilt(root, services) {
  const required = [
    'libs/db/dist/migrate-cli.js',
    'services/auth-service/dist/keys-cli.js',
    ...services.map((s) => `services/${s.service}/dist/main.js`),
  ];
  const missing = [];
  for (const rel of required) {
    try {
      await fs.access(path.join(root, rel));
    } catch {
      missing.push(rel);
    }
  }
  if (missing.length > 0) {
    throw new StackError(`not built (missing ${missing.join(', ')}); run \`npm run build\` or \`npm start\``);
  }
}

/**
 * Creates the shared JWT signing key set once; every auth replica reads the same file.
 * @param {string} root
 * @param {string} file
 */
async function ensureJwtKeys(root, file) {
  try {
    await fs.access(file);
    return;
  } catch {
    log(`creating JWT signing keys in ${file}`);
  }
  const result = await runToCompletion(
    'keys',
    process.execPath,
    [path.join(root, 'services/auth-service/dist/keys-cli.js'), 'init', '--file', file],
    { cwd: root, env: process.env },
  );
  if (result.code !== 0) throw new StackError(`keys-cli init failed (exit ${result.code ?? result.signal})`);
  await fs.access(file).catch((err) => {
    throw new StackError(`keys-cli init exited 0 but ${file} does not exist (${message(err)})`);
  });
}

/**
 * Reads the persisted secret, creating 32 random bytes (base64url) on first use. Persisted because a
 * new secret on every start would invalidate every refresh token issued before.
 * @param {string} file
 * @returns {Promise<string>}
 */
async function ensureSecret(file) {
  try {
    // `wx`: two runners starting at once cannot overwrite each other's secret.
    await fs.writeFile(file, `${crypto.randomBytes(32).toString('base64url')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
    log(`created REFRESH_TOKEN_SECRET in ${file}`);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
  }
  const secret = (await fs.readFile(file, 'utf8')).trim();
  if (secret.length < 43)
    throw new StackError(`${file} does not hold a 32-byte secret; delete it to regenerate`);
  return secret;
}

/**
 * Polls every replica's /readyz until all answer 200, a replica dies, or the timeout passes.
 * @param {Array<{ name: string, port: number }>} replicas
 * @param {() => boolean} aborted
 */
async function waitForReadiness(replicas, aborted) {
  const started = Date.now();
  let lastReport = 0;
  /** @type {Map<string, string>} */
  const state = new Map();
  while (!aborted()) {
    const probes = await Promise.all(replicas.map((r) => probeReady('127.0.0.1', r.port)));
    probes.forEach((p, i) => state.set(replicas[i]?.name ?? '?', p.ready ? 'ready' : p.why));
    if (probes.every((p) => p.ready)) {
      log(`all ${replicas.length} replicas ready after ${Math.round((Date.now() - started) / 1000)} s`);
      return;
    }
    const elapsed = Date.now() - started;
    const summary = [...state].map(([name, s]) => `${name}: ${s}`).join(', ');
    if (elapsed > READY_TIMEOUT_MS) {
      throw new StackError(`replicas not ready after ${READY_TIMEOUT_MS / 1000} s (${summary})`);
    }
    if (elapsed - lastReport >= 3000) {
      lastReport = elapsed;
      log(`waiting for readiness (${Math.round(elapsed / 1000)} s): ${summary}`);
    }
    await sleep(250);
  }
}

/**
 * @param {{ publicUrl: string, httpPort: number, caCert: string, nginxRunDir: string,
 *   replicas: StackReplica[], ipv6: boolean }} info
 */
function printBanner(info) {
  const rel = (/** @type {string} */ p) => {
    const r = path.relative(process.cwd(), p);
    return r.startsWith('..') ? p : r;
  };
  const lines = [
    '',
    `Concord is up at ${info.publicUrl}  (http://localhost:${info.httpPort} redirects there)`,
    `  listening on 127.0.0.1${info.ipv6 ? ' and [::1]' : ''}; TLS by the local CA ${rel(info.caCert)}`,
    `  try:  curl --cacert ${rel(info.caCert)} ${info.publicUrl}/.well-known/jwks.json`,
    ...info.replicas.map(
      (r) =>
        `  ${r.name.padEnd(18)} http://127.0.0.1:${r.port}  metrics :${r.metricsPort}` +
        (r.internalPort === undefined ? '' : `  internal (JWKS) :${r.internalPort}`),
    ),
    `  gateway logs: ${rel(info.nginxRunDir)}/access.log, error.log`,
    '',
    'Create the first user (a ceo; only possible while no user exists):',
    `  curl --cacert ${rel(info.caCert)} -H 'content-type: application/json' \\`,
    `    -d '{"username":"admin","password":"choose-a-long-passphrase"}' ${info.publicUrl}/api/v1/auth/setup`,
    '',
    'Ctrl-C stops the gateway, then drains every replica.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** @param {string} url */
function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** @param {unknown} err */
function message(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {string} msg */
function log(msg) {
  process.stdout.write(`[stack] ${msg}\n`);
}

module.exports = { runStack, SERVICES, stackReplicas, jwksUrlOf, replicaEnv };

if (require.main === module) {
  runStack().then(
    (code) => process.exit(code),
    (err) => {
      log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
