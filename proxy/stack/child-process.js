// @ts-check
'use strict';
// Child processes of the local stack: every output line handed to the stack's log output, a bounded
// tail kept for post-mortems, and a stop that always ends with the process gone.

const { spawn } = require('node:child_process');
const readline = require('node:readline');

const TAIL_LINES = 40;

/**
 * @typedef {object} ManagedChild
 * @property {string} name
 * @property {import('node:child_process').ChildProcess} child
 * @property {string[]} tail last output lines, newest last
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exited
 * @property {() => boolean} hasExited
 * @property {(timeoutMs: number) => Promise<void>} stop SIGTERM, then SIGKILL to its group after timeoutMs
 */

/**
 * @typedef {object} ChildOptions
 * @property {string} cwd
 * @property {NodeJS.ProcessEnv} env
 * @property {boolean} [detached] puts the child in its own process group: a terminal's Ctrl-C then
 *   reaches only the runner, which stops children in order (gateway first) instead of all of them
 *   dying at once
 * @property {(line: string, stream: 'stdout' | 'stderr') => void} onLine receives every output line
 * @property {(msg: string) => void} [onNotice] the runner's own remarks about this child (a SIGKILL)
 */

/**
 * Spawns `command`, handing each stdout/stderr line to `options.onLine`.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {ChildOptions} options
 * @returns {ManagedChild}
 */
function startChild(name, command, args, options) {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** @type {string[]} */
  const tail = [];
  for (const [stream, input] of /** @type {const} */ ([
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ])) {
    readline.createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine(line, stream);
    });
  }
  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
  let exitInfo;
  const exited = new Promise(
    /** @param {(v: { code: number | null, signal: NodeJS.Signals | null }) => void} resolve */
    (resolve) => {
      child.once('error', (err) => {
        tail.push(`spawn failed: ${err.message}`);
        exitInfo = { code: null, signal: null };
        resolve(exitInfo);
      });
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        resolve(exitInfo);
      });
    },
  );

  /** @param {number} timeoutMs */
  const stop = async (timeoutMs) => {
    if (exitInfo || child.pid === undefined) return;
    kill(child.pid, 'SIGTERM');
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const done = await Promise.race([
      exited.then(() => true),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, false))),
    ]);
    clearTimeout(timer);
    if (!done) {
      options.onNotice?.(`${name} did not stop within ${timeoutMs} ms; sending SIGKILL`);
      kill(options.detached ? -child.pid : child.pid, 'SIGKILL');
      await exited;
    }
  };

  return { name, child, tail, exited, hasExited: () => exitInfo !== undefined, stop };
}

/**
 * Runs a short-lived command to completion.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {ChildOptions} options
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, tail: string[] }>}
 */
async function runToCompletion(name, command, args, options) {
  const managed = startChild(name, command, args, options);
  const result = await managed.exited;
  return { ...result, tail: managed.tail };
}

/**
 * @param {number} pid negative for a process group
 * @param {NodeJS.Signals} signal
 */
function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: it exited between our check and the signal, which is the outcome we wanted.
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ESRCH') throw err;
  }
}

module.exports = { startChild, runToCompletion, kill };
