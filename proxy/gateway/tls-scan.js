// @ts-check
'use strict';
// TLS scan of the gateway with testssl.sh (docs/operations.md "TLS scan"). Without --target it scans
// a private nginx rendered by this folder's renderer exactly as the local stack and compose render it
// (same ssl_* lines, headers and problem pages; no upstreams, so proxied paths answer 503), on free
// loopback ports, and removes it afterwards. With --target HOST:PORT it scans a running gateway,
// e.g. the local stack on localhost:8443. Run through tls-scan.sh, which installs testssl.sh if needed.

const { spawn } = require('node:child_process');
const fs = require('node:fs/promises');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { ensureTlsMaterial, renderNginxConfig, startNginx } = require('./index');

const USAGE = `usage: tls-scan.sh [--target HOST:PORT] [--ca FILE] [--out DIR] [--testssl BIN]
  --target   a running gateway (default: a private nginx with the gateway config on a free port)
  --ca       the CA that signed the target's certificate (default: the private gateway's own CA)
  --out      where testssl.json and testssl.log go (default .run/tls-scan)
Exit 0 when testssl ran; its findings are in the files (severity: OK, LOW, MEDIUM, HIGH, CRITICAL).`;

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Runs testssl with output inherited, so a long scan shows its progress.
 * @param {string} bin
 * @param {string[]} args
 * @returns {Promise<number>}
 */
function runTestssl(bin, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * The findings that are not OK or INFO, one line each (`severity id: finding`).
 * @param {string} jsonFile
 * @returns {Promise<string[]>}
 */
async function findings(jsonFile) {
  /** @type {{ id: string, severity: string, finding: string }[]} */
  const items = JSON.parse(await fs.readFile(jsonFile, 'utf8'));
  return items
    .filter((i) => !['OK', 'INFO', 'DEBUG'].includes(i.severity))
    .map((i) => `${i.severity} ${i.id}: ${i.finding}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      ca: { type: 'string' },
      out: { type: 'string' },
      testssl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out = path.resolve(values.out ?? path.join(__dirname, '../../.run/tls-scan'));
  await fs.mkdir(out, { recursive: true });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'concord-tls-scan-'));
  /** @type {{ stop(): Promise<void> } | undefined} */
  let nginx;
  try {
    let target = values.target;
    let ca = values.ca;
    if (!target) {
      const tls = await ensureTlsMaterial(path.join(dir, 'tls'));
      const port = await freePort();
      const runDir = path.join(dir, 'nginx');
      const config = renderNginxConfig({
        runDir,
        httpsListen: { host: '127.0.0.1', port },
        httpListen: { host: '127.0.0.1', port: await freePort() },
        tlsCert: tls.cert,
        tlsKey: tls.key,
        upstreams: {},
        exposeReplicaHeader: false,
      });
      nginx = await startNginx({ runDir, config });
      target = `localhost:${port}`;
      ca = ca ?? tls.caCert;
    }
    const jsonFile = path.join(out, 'testssl.json');
    const logFile = path.join(out, 'testssl.log');
    await Promise.all([jsonFile, logFile].map((f) => fs.rm(f, { force: true })));
    const args = [
      '--quiet',
      '--color',
      '0',
      '--warnings',
      'batch',
      // Loopback only: the name resolves to 127.0.0.1 and ::1; one address is the gateway.
      '--ip',
      'one',
      '--jsonfile',
      jsonFile,
      '--logfile',
      logFile,
      ...(ca ? ['--add-ca', ca] : []),
      `https://${target}/`,
    ];
    const code = await runTestssl(values.testssl ?? 'testssl', args);
    // testssl's exit code counts some findings; only a missing result file means it did not run.
    const notOk = await findings(jsonFile);
    process.stdout.write(
      `\ntestssl exit ${code}; ${notOk.length} findings above OK/INFO (full results: ${jsonFile}, ${logFile})\n`,
    );
    for (const line of notOk) process.stdout.write(`  ${line}\n`);
    return 0;
  } finally {
    await nginx?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (/** @type {unknown} */ err) => {
    process.stderr.write(`tls-scan: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exitCode = 1;
  },
);
