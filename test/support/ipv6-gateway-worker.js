// @ts-check
'use strict';
// Runs inside a private network namespace (`unshare --net`, started by test/gateway-ipv6.e2e.test.ts),
// where it may give the loopback interface IPv6 addresses of its own without touching the host: the
// real gateway config in front of a fake auth replica, and bursts of login POSTs from each source
// address. Prints one JSON line: how many POSTs of each burst got through. Plain CommonJS so it
// runs under node without a build.

const { execFileSync } = require('node:child_process');
const { once } = require('node:events');
const { mkdtemp, rm } = require('node:fs/promises');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { readFileSync } = require('node:fs');

const { renderNginxConfig, startNginx, ensureTlsMaterial } = require('../../proxy/gateway');

/**
 * @typedef {object} WorkerInput
 * @property {string[]} sources IPv6 client addresses, in the order their bursts are sent
 * @property {number} burst POSTs per source
 * @property {{ rate: string, burst: number }} limit the login limit under test
 */

/**
 * @param {string} ca
 * @param {string} localAddress
 * @param {number} count
 * @returns {Promise<number>} answers other than 429
 */
async function burst(ca, localAddress, count) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, localAddress, ca });
  try {
    const statuses = await Promise.all(
      Array.from(
        { length: count },
        () =>
          /** @type {Promise<number>} */ (
            new Promise((resolve, reject) => {
              const req = https.request(
                {
                  host: '::1',
                  port: 8443,
                  servername: 'localhost',
                  method: 'POST',
                  path: '/api/v1/auth/login',
                  agent,
                  headers: { host: 'localhost', 'content-type': 'application/json', 'content-length': 2 },
                },
                (res) => {
                  res.resume();
                  res.on('end', () => resolve(res.statusCode ?? 0));
                },
              );
              req.on('error', reject);
              req.end('{}');
            })
          ),
      ),
    );
    return statuses.filter((s) => s !== 429).length;
  } finally {
    agent.destroy();
  }
}

/** @param {WorkerInput} input */
async function main(input) {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  for (const address of input.sources) {
    // nodad: usable at once instead of after duplicate address detection.
    execFileSync('ip', ['-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad']);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-ipv6-'));
  const upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const address = upstream.address();
  const upstreamPort = typeof address === 'object' && address ? address.port : 0;
  /** @type {{ stop(): Promise<void> } | undefined} */
  let nginx;
  try {
    const tls = await ensureTlsMaterial(path.join(dir, 'tls'));
    const runDir = path.join(dir, 'nginx');
    nginx = await startNginx({
      runDir,
      config: renderNginxConfig({
        runDir,
        httpsListen: { host: '::', port: 8443 },
        httpListen: { host: '127.0.0.1', port: 8080 },
        tlsCert: tls.cert,
        tlsKey: tls.key,
        proxyBind: '127.0.0.2',
        upstreams: { auth: [`127.0.0.1:${upstreamPort}`] },
        exposeReplicaHeader: true,
        credentialLimits: { login: input.limit },
      }),
      waitFor: [{ host: '::1', port: 8443 }],
    });
    const ca = readFileSync(tls.caCert, 'utf8');
    /** @type {Array<{ source: string, passed: number }>} */
    const bursts = [];
    for (const source of input.sources) {
      bursts.push({ source, passed: await burst(ca, source, input.burst) });
    }
    process.stdout.write(`${JSON.stringify({ bursts })}\n`);
  } finally {
    await nginx?.stop();
    upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main(JSON.parse(process.argv[2] ?? '{}')).catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
