// @ts-check
'use strict';
// Loopback checks of the local stack: free ports before anything starts, readiness probes after.

const http = require('node:http');
const net = require('node:net');

/**
 * @typedef {{ host: string, port: number, what: string }} PortClaim
 */

/**
 * Returns the claims whose port is already bound on their host (by anything: another stack, a stray
 * service), so the runner can refuse to start with one message naming all of them.
 * @param {PortClaim[]} claims
 * @returns {Promise<PortClaim[]>}
 */
async function portsInUse(claims) {
  /** @type {PortClaim[]} */
  const busy = [];
  for (const claim of claims) {
    const error = await tryListen(claim.host, claim.port);
    if (error === 'EADDRINUSE' || error === 'EACCES') busy.push(claim);
    else if (error) throw new Error(`cannot probe ${claim.host}:${claim.port} (${claim.what}): ${error}`);
  }
  return busy;
}

/**
 * @param {string} host
 * @param {number} port
 * @returns {Promise<string | undefined>} the error code, or undefined when the port was free
 */
function tryListen(host, port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (/** @type {NodeJS.ErrnoException} */ err) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Whether a socket can be bound to `host` (e.g. ::1 on hosts without IPv6, 127.0.0.2 on macOS where
 * only 127.0.0.1 exists until an alias is added).
 * @param {string} host
 * @returns {Promise<boolean>}
 */
async function canBind(host) {
  return (await tryListen(host, 0)) === undefined;
}

/**
 * One readiness probe: GET http://host:port/readyz answered 200 within a second.
 * @param {string} host
 * @param {number} port
 * @returns {Promise<{ ready: boolean, why: string }>}
 */
function probeReady(host, port) {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/readyz', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve({ ready: res.statusCode === 200, why: `HTTP ${res.statusCode}` });
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (/** @type {NodeJS.ErrnoException} */ err) =>
      resolve({ ready: false, why: err.code ?? err.message }),
    );
  });
}

module.exports = { portsInUse, canBind, probeReady };
