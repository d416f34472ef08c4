// @ts-check
'use strict';
// The local stack behind `npm start` (DESIGN.md section 2): TLS material, signing keys and secrets in
// .run/, migrations, the replicas of every service of the service list, and nginx in front. Runs in
// the foreground; Ctrl-C stops the gateway first, then drains every replica.

const crypto = require('node:crypto');
const fs = require('node:fs/promises');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const { startChild, runToCompletion, kill } = require('./child-process');
const { portsInUse, canBind, probeReady } = require('./net-checks');
const { createLogOutput } = require('./log-output');
const {
  PROXY_ADDRESS,
  stackReplicas,
  childEnvironment,
  replicaPortClaims,
  gatewayUpstreams,
  secretFileName,
} = require('./stack-plan');
const { renderNginxConfig, startNginx, ensureTlsMaterial } = require('../gateway');
const { readServiceList, jwksProvider } = require('../service-list/service-list');

/**
 * @typedef {import('../service-list/service-list').ServiceDefinition} ServiceDefinition
 * @typedef {import('./stack-plan').StackReplica} StackReplica
 * @typedef {import('./log-output').LogOutput} LogOutput
 */

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/concord';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const READY_TIMEOUT_MS = 60_000;
// Longer than a replica's own drain (in-flight requests, sockets) so SIGKILL is only for hung ones.
const STOP_TIMEOUT_MS = 15_000;

/**
 * @typedef {object} StackOptions
 * @property {string} [root] repository root (default: two levels above this folder)
 * @property {readonly ServiceDefinition[]} [services] default: the service list under `root`
 * @property {number} [httpsPort] default 8443
 * @property {number} [httpPort] default 8080
 * @property {LogOutput} [output] default: pino-pretty on a terminal, JSON lines otherwise
 */

/**
 * Runs the local stack until SIGINT/SIGTERM (resolves 0) or until any part of it fails (resolves 1).
 * @param {StackOptions} [options]
 * @returns {Promise<number>} exit code
 */
async function runStack(options = {}) {
  const root = options.root ?? path.resolve(__dirname, '../..');
  const httpsPort = options.httpsPort ?? 8443;
  const httpPort = options.httpPort ?? 8080;
  const publicUrl = httpsPort === 443 ? 'https://localhost' : `https://localhost:${httpsPort}`;
  const runDir = path.join(root, '.run');
  const env = process.env;
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const redisUrl = env.REDIS_URL || DEFAULT_REDIS_URL;
  const out =
    options.output ??
    createLogOutput({
      pretty: process.stdout.isTTY === true,
      colorize: !env.NO_COLOR,
      write: (text) => process.stdout.write(text),
    });
  /** @param {string} msg @param {Record<string, unknown>} [fields] */
  const log = (msg, fields) => out.stack('info', msg, fields);
  /** @param {string} msg @param {Record<string, unknown>} [fields] */
  const logError = (msg, fields) => out.stack('error', msg, fields);

  /** @type {import('./child-process').ManagedChild[]} */
  const children = [];
  /** @type {import('../gateway').NginxHandle | undefined} */
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
          logError(`nginx did not stop cleanly: ${message(err)}`);
        }
      }
      const results = await Promise.allSettled(children.map((c) => c.stop(STOP_TIMEOUT_MS)));
      for (const r of results) {
        if (r.status === 'rejected') {
          failed = true;
          logError(`a replica did not stop cleanly: ${message(r.reason)}`);
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
      logError(`${signal} again: killing everything`);
      killAll();
      process.exit(130);
    }
    void shutdown(signal, 0);
  };
  const killAll = () => {
    if (nginx) kill(-nginx.pid, 'SIGKILL');
    for (const c of children) if (c.child.pid !== undefined && !c.hasExited()) kill(-c.child.pid, 'SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort if the runner itself crashes: never leave replicas or nginx behind.
  process.on('exit', killAll);

  try {
    const services = options.services ?? readServiceList(root);
    const replicas = stackReplicas(services);
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
      ...replicaPortClaims(replicas),
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
    await ensureJwtKeys({ root, file: jwtKeysFile, provider: jwksProvider(services), out });
    /** @type {Record<string, string>} */
    const secrets = {};
    for (const name of new Set(services.flatMap((s) => s.secrets))) {
      secrets[name] = await ensureSecret(path.join(keysDir, secretFileName(name)), name, log);
    }
    if (stopping) return await stopping;

    log(`applying migrations to ${redactUrl(databaseUrl)}`);
    const migrate = await runToCompletion(
      'migrate',
      process.execPath,
      [path.join(root, 'libs/db/dist/migrate-cli.js')],
      {
        cwd: root,
        env: { ...env, DATABASE_URL: databaseUrl },
        onLine: (line, stream) => out.child({ service: 'migrate', replica: 'migrate' }, line, stream),
      },
    );
    if (migrate.code !== 0) {
      throw new StackError(
        `migrations failed (exit ${migrate.code ?? migrate.signal}); is Postgres up? (bash .ci/setup.sh starts it)`,
      );
    }
    if (stopping) return await stopping;

    const shared = {
      generated: { jwtKeysFile, secrets },
      databaseUrl,
      redisUrl,
      redisPrefix: env.REDIS_PREFIX || 'concord:',
      publicUrl,
      logLevel: env.LOG_LEVEL || 'info',
    };
    for (const r of replicas) {
      const source = { service: r.service.name, replica: r.name };
      const child = startChild(r.name, process.execPath, [path.join(root, r.service.main)], {
        cwd: root,
        env: childEnvironment(env, r, services, shared),
        detached: true,
        onLine: (line, stream) => out.child(source, line, stream),
        onNotice: (msg) => logError(msg),
      });
      children.push(child);
      void child.exited.then(({ code, signal }) => {
        if (stopping) return;
        logError(`${r.name} exited unexpectedly (${signal ?? `code ${code}`})`, {
          last_lines: child.tail.slice(-20),
        });
        void shutdown(`${r.name} died`, 1);
      });
    }

    await waitForReadiness(replicas, () => stopping !== undefined, log);
    if (stopping) return await stopping;

    const nginxRunDir = path.join(runDir, 'nginx');
    const config = renderNginxConfig({
      runDir: nginxRunDir,
      httpsListen: gatewayHosts.map((host) => ({ host, port: httpsPort })),
      httpListen: gatewayHosts.map((host) => ({ host, port: httpPort })),
      tlsCert: tlsMaterial.cert,
      tlsKey: tlsMaterial.key,
      proxyBind: PROXY_ADDRESS,
      upstreams: gatewayUpstreams(replicas),
      exposeReplicaHeader: true,
    });
    nginx = await startNginx({
      runDir: nginxRunDir,
      config,
      onOutput: (line) => out.child({ service: 'gateway', replica: 'nginx' }, line, 'stderr'),
    });
    void nginx.exited.then(({ code, signal }) => {
      if (stopping) return;
      logError(
        `nginx exited unexpectedly (${signal ?? `code ${code}`}); see ${path.join(nginxRunDir, 'error.log')}`,
      );
      void shutdown('nginx died', 1);
    });
    if (stopping) return await stopping;

    process.stdout.write(
      banner({ publicUrl, httpPort, caCert: tlsMaterial.caCert, nginxRunDir, replicas, ipv6 }),
    );
  } catch (err) {
    if (err instanceof StackError) logError(`error: ${err.message}`);
    else logError(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return await shutdown('start-up failed', 1);
  } finally {
    void finished.then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', killAll);
    });
  }
  return await finished;
}

/** A failure the user can fix from the message alone (no stack trace needed). */
class StackError extends Error {}

/**
 * @param {string} root
 * @param {readonly ServiceDefinition[]} services
 */
async function assertBuilt(root, services) {
  const required = [
    'libs/db/dist/migrate-cli.js',
    `services/${jwksProvider(services).name}/dist/keys-cli.js`,
    ...services.map((s) => s.main),
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
 * Creates the shared JWT signing key set once with the provider's key CLI; every replica of the
 * provider reads the same file.
 * @param {{ root: string, file: string, provider: ServiceDefinition, out: LogOutput }} args
 */
async function ensureJwtKeys({ root, file, provider, out }) {
  try {
    await fs.access(file);
    return;
  } catch {
    out.stack('info', `creating JWT signing keys in ${file}`);
  }
  const result = await runToCompletion(
    'keys',
    process.execPath,
    [path.join(root, `services/${provider.name}/dist/keys-cli.js`), 'init', '--file', file],
    {
      cwd: root,
      env: process.env,
      onLine: (line, stream) => out.child({ service: provider.name, replica: 'keys-cli' }, line, stream),
    },
  );
  if (result.code !== 0) throw new StackError(`keys-cli init failed (exit ${result.code ?? result.signal})`);
  await fs.access(file).catch((err) => {
    throw new StackError(`keys-cli init exited 0 but ${file} does not exist (${message(err)})`);
  });
}

/**
 * Reads the persisted secret, creating 32 random bytes (base64url) on first use. Persisted because a
 * new secret on every start would invalidate what was derived from the old one (refresh tokens).
 * @param {string} file
 * @param {string} name env name, for messages
 * @param {(msg: string) => void} log
 * @returns {Promise<string>}
 */
async function ensureSecret(file, name, log) {
  try {
    // `wx`: two runners starting at once cannot overwrite each other's secret.
    await fs.writeFile(file, `${crypto.randomBytes(32).toString('base64url')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
    log(`created ${name} in ${file}`);
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
 * @param {readonly StackReplica[]} replicas
 * @param {() => boolean} aborted
 * @param {(msg: string) => void} log
 */
async function waitForReadiness(replicas, aborted, log) {
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
 * What a developer needs once the stack is up: the URL, the CA, the replicas and the first command.
 * Plain text on purpose, in both output modes: it is for the person at the terminal.
 * @param {{ publicUrl: string, httpPort: number, caCert: string, nginxRunDir: string,
 *   replicas: readonly StackReplica[], ipv6: boolean }} info
 * @returns {string}
 */
function banner(info) {
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
        `  ${r.name.padEnd(20)} http://127.0.0.1:${r.port}  metrics :${r.metricsPort}` +
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
  return `${lines.join('\n')}\n`;
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

module.exports = { runStack, StackError };

if (require.main === module) {
  runStack().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(
        `[stack] fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
