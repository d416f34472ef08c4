// @ts-check
'use strict';
// Runs nginx in the foreground under the caller's control: config check first, readiness by TCP,
// graceful stop with a hard deadline, and reloads that resolve only once the new config serves.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const net = require('node:net');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

/** @typedef {import('./nginx-config').ListenAddress} ListenAddress */

/**
 * Locates the nginx binary: /usr/sbin/nginx (Debian; often not on a non-root PATH), else PATH.
 * @returns {string}
 */
function findNginx() {
  const candidates = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, 'nginx'));
  }
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not this one; the next candidate is tried and the error below lists them all.
    }
  }
  throw new Error(`nginx not found (looked in ${candidates.join(', ')}); run \`bash .ci/setup.sh\``);
}

/**
 * @typedef {object} StartNginxOptions
 * @property {string} runDir
 * @property {string} config full nginx.conf text (from renderNginxConfig)
 * @property {ListenAddress[]} [waitFor] addresses that must accept TCP; default: the config's `ssl` listeners
 * @property {string} [nginxBin] default findNginx()
 * @property {number} [startTimeoutMs] default 10 000
 * @property {number} [stopTimeoutMs] SIGQUIT grace before SIGKILL, default 10 000
 * @property {(line: string) => void} [onOutput] receives nginx's stderr/stdout lines
 * @property {string} [netns] a network namespace (`ip netns`) to run nginx in; readiness is then read
 *   from the namespace's own socket table (/proc/<pid>/net/tcp), since its addresses may not be
 *   reachable from the caller's namespace
 *
 * @typedef {object} NginxHandle
 * @property {number} pid master process id
 * @property {() => Promise<void>} stop graceful stop (SIGQUIT), SIGKILL to the process group after the timeout
 * @property {(config?: string) => Promise<void>} reload optionally rewrites the config, tests it, sends
 *   SIGHUP and resolves once a new generation of workers runs
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exited settles when the master exits
 */

/**
 * Writes `<runDir>/nginx.conf`, checks it with `nginx -t`, runs nginx in the foreground and resolves
 * once the HTTPS listeners accept TCP connections.
 * @param {StartNginxOptions} options
 * @returns {Promise<NginxHandle>}
 */
async function startNginx(options) {
  const { runDir, config } = options;
  const nginxBin = options.nginxBin ?? findNginx();
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const waitFor = options.waitFor ?? sslListenersOf(config);
  if (waitFor.length === 0)
    throw new Error('startNginx: no `listen ... ssl` address in the config to wait for');

  await fsp.mkdir(runDir, { recursive: true, mode: 0o700 });
  const confPath = path.join(runDir, 'nginx.conf');
  const errorLog = path.join(runDir, 'error.log');
  await fsp.writeFile(confPath, config, { mode: 0o600 });
  // -e: the compiled-in error log (often /var/log/nginx/error.log) is opened before the config is read.
  const baseArgs = ['-p', `${runDir}/`, '-c', confPath, '-e', errorLog];
  const command = inNetns(options.netns, nginxBin);
  await testConfig(command, baseArgs);

  // Own process group: a terminal's Ctrl-C reaches only the runner, which stops nginx in order, and a
  // SIGKILL fallback can take the workers down with the master. `ip netns exec` execs in place, so
  // the pid is nginx's master either way.
  const child = spawn(command.bin, [...command.args, ...baseArgs, '-g', 'daemon off;'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  /** @type {string[]} */
  const recent = [];
  /** @param {Buffer} chunk */
  const collect = (chunk) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      recent.push(line);
      if (recent.length > 50) recent.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
  let exitInfo;
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  if (pid === undefined) {
    const err = await exited.then(
      () => new Error('nginx did not start'),
      (/** @type {unknown} */ e) => e,
    );
    throw err;
  }

  const stop = async () => {
    if (exitInfo) return;
    signalProcess(pid, 'SIGQUIT');
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const finished = await Promise.race([
      exited.then(() => true),
      new Promise((resolve) => (timer = setTimeout(resolve, stopTimeoutMs, false))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      signalProcess(-pid, 'SIGKILL');
      await exited;
    }
  };

  try {
    const probe =
      options.netns === undefined
        ? canConnect
        : (/** @type {string} */ host, /** @type {number} */ port) => isListeningIn(pid, host, port);
    await waitUntilListening(waitFor, startTimeoutMs, () => exitInfo, probe);
  } catch (err) {
    await stop();
    const tail = await readTail(errorLog, 20);
    throw new Error(
      `nginx did not come up: ${/** @type {Error} */ (err).message}\n${[...recent, ...tail].join('\n')}`,
      { cause: err },
    );
  }

  /** @param {string} [newConfig] */
  const reload = async (newConfig) => {
    if (exitInfo) throw new Error('nginx is not running');
    if (newConfig !== undefined) await fsp.writeFile(confPath, newConfig, { mode: 0o600 });
    // Test first: a broken config would only be logged by the master, and the caller would believe it applied.
    await testConfig(command, baseArgs);
    const before = workerPids(pid);
    signalProcess(pid, 'SIGHUP');
    if (before === undefined) {
      // No /proc children list (non-Linux): give the master a moment to fork the new workers.
      await sleep(500);
      return;
    }
    // Done when new workers run and every old one has closed its listeners (its title then says
    // "shutting down"); until then an old worker may still accept a connection under the old config.
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      const now = workerPids(pid) ?? [];
      const started = now.some((p) => !before.includes(p));
      const oldListening = before.some((p) => now.includes(p) && !processTitle(p).includes('shutting down'));
      if (started && !oldListening) return;
      if (exitInfo) throw new Error('nginx exited during reload');
      await sleep(25);
    }
    const tail = await readTail(errorLog, 10);
    throw new Error(
      `nginx did not switch to the new configuration within ${startTimeoutMs} ms\n${tail.join('\n')}`,
    );
  };

  return { pid, stop, reload, exited };
}

/**
 * The command line prefix that runs `bin`, inside `netns` when one is given.
 * @param {string | undefined} netns
 * @param {string} bin
 * @returns {{ bin: string, args: string[] }}
 */
function inNetns(netns, bin) {
  return netns === undefined ? { bin, args: [] } : { bin: 'ip', args: ['netns', 'exec', netns, bin] };
}

/**
 * @param {{ bin: string, args: string[] }} command
 * @param {string[]} baseArgs
 */
async function testConfig(command, baseArgs) {
  const { code, output } = await run(command.bin, [...command.args, ...baseArgs, '-t', '-q']);
  if (code !== 0) throw new Error(`nginx -t rejected the configuration:\n${output.trim()}`);
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * @param {number} pid negative for a process group
 * @param {NodeJS.Signals} signal
 */
function signalProcess(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: it already exited between our check and the signal, which is the outcome we wanted.
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ESRCH') throw err;
  }
}

/**
 * Worker pids of an nginx master (Linux /proc), or undefined where that is not available.
 * @param {number} pid
 * @returns {number[] | undefined}
 */
function workerPids(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * @param {number} pid
 * @returns {string} the process title nginx sets (e.g. "nginx: worker process is shutting down")
 */
function processTitle(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // exited in the meantime: nothing of it can still accept connections
  }
}

/**
 * Addresses of `listen ... ssl` lines in a rendered config.
 * @param {string} config
 * @returns {ListenAddress[]}
 */
function sslListenersOf(config) {
  /** @type {ListenAddress[]} */
  const found = [];
  for (const m of config.matchAll(/^\s*listen\s+(\[[^\]]+\]|[^\s:]+):(\d+)\s+[^;]*\bssl\b[^;]*;/gm)) {
    const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
    found.push({ host, port: Number(m[2]) });
  }
  return found;
}

/**
 * @param {ListenAddress[]} targets
 * @param {number} timeoutMs
 * @param {() => unknown} hasExited
 * @param {(host: string, port: number) => Promise<boolean>} probe
 */
async function waitUntilListening(targets, timeoutMs, hasExited, probe) {
  const deadline = Date.now() + timeoutMs;
  for (const target of targets) {
    for (;;) {
      if (hasExited()) throw new Error('nginx exited during start-up');
      if (await probe(target.host, target.port)) break;
      if (Date.now() > deadline)
        throw new Error(`${target.host}:${target.port} not accepting after ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}

/**
 * @param {string} host
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function canConnect(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    // Refused or timed out both mean "not yet"; the caller's deadline turns persistence into an error.
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Whether the network namespace of process `pid` has a TCP socket listening on `host:port` (IPv4),
 * read from its /proc socket table: the kernel completes handshakes on a listening socket, so this
 * is what a TCP probe from inside the namespace would see.
 * @param {number} pid
 * @param {string} host
 * @param {number} port
 * @returns {Promise<boolean>}
 */
async function isListeningIn(pid, host, port) {
  if (net.isIP(host) !== 4)
    throw new Error(`startNginx: netns readiness supports IPv4 listeners only (${host})`);
  // /proc/net/tcp prints the address as the hex of its bytes in host (little-endian) order.
  const hex = (/** @type {number} */ n, /** @type {number} */ width) =>
    n.toString(16).toUpperCase().padStart(width, '0');
  const address = hex(Buffer.from(host.split('.').map(Number)).readUInt32LE(0), 8);
  const want = `${address}:${hex(port, 4)}`;
  const table = await fsp.readFile(`/proc/${pid}/net/tcp`, 'utf8').catch(() => '');
  return table
    .split('\n')
    .slice(1)
    .some((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      return local === want && state === '0A';
    });
}

/**
 * @param {string} file
 * @param {number} lines
 * @returns {Promise<string[]>}
 */
async function readTail(file, lines) {
  try {
    return (await fsp.readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines);
  } catch (err) {
    return [`(could not read ${file}: ${/** @type {Error} */ (err).message})`];
  }
}

module.exports = { startNginx, findNginx };
