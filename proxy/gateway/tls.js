// @ts-check
'use strict';
// Local TLS material for the gateway: a private CA that a developer trusts explicitly
// (`curl --cacert .run/tls/ca.crt`) and a server certificate for localhost signed by it.
// Generated with the openssl CLI so the files are exactly what an operator would produce by hand.

const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs/promises');
const net = require('node:net');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { promisify } = require('node:util');

const execFileAsync = promisify(execFile);

const CA_DAYS = 3650;
// 825 days is the longest lifetime Apple platforms accept for a TLS server certificate.
const SERVER_DAYS = 825;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const LOCK_WAIT_MS = 30_000;
const LOCK_STALE_MS = 120_000;

const OPENSSL_CNF = `# Written by proxy/gateway/tls.js; extensions of the local CA and its localhost certificate.
[req]
distinguished_name = dn
prompt = no

[dn]
CN = Concord Local Development CA

[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
`;

/**
 * The openssl config, with `extraNames` (host names or IP addresses) added to the server
 * certificate's subjectAltName.
 * @param {readonly string[]} extraNames
 */
function opensslConfig(extraNames) {
  const extra = extraNames.map((n) => (net.isIP(n) ? `IP:${n}` : `DNS:${n}`));
  return extra.length === 0
    ? OPENSSL_CNF
    : OPENSSL_CNF.replace('IP:127.0.0.1, IP:::1', `IP:127.0.0.1, IP:::1, ${extra.join(', ')}`);
}

/**
 * @typedef {{ caCert: string, cert: string, key: string }} TlsMaterial
 */

/**
 * Makes sure `dir` holds `ca.crt`, `ca.key`, `server.crt` (the leaf only: clients trust the CA file
 * directly, so sending the root would only cost bytes) and `server.key` (keys mode 0600), and returns
 * their absolute paths. Reuses valid material; issues a new server certificate (under the same CA) when
 * the current one expires within 30 days, no longer matches its key or CA; a new CA only when the CA
 * itself is missing, broken or about to expire. Safe to call from concurrent processes.
 * `names` adds host names or IP addresses to the server certificate (a gateway reached at an address
 * other than loopback, e.g. the several-hosts rehearsal's gateway host); material without them is
 * reissued.
 * @param {string} dir
 * @param {{ openssl?: string, names?: readonly string[] }} [options]
 * @returns {Promise<TlsMaterial>}
 */
async function ensureTlsMaterial(dir, options = {}) {
  const openssl = options.openssl ?? 'openssl';
  const names = options.names ?? [];
  const abs = path.resolve(dir);
  await fs.mkdir(abs, { recursive: true, mode: 0o700 });
  const files = {
    caCert: path.join(abs, 'ca.crt'),
    caKey: path.join(abs, 'ca.key'),
    cert: path.join(abs, 'server.crt'),
    key: path.join(abs, 'server.key'),
  };
  const result = { caCert: files.caCert, cert: files.cert, key: files.key };

  const first = await inspect(files, names);
  if (first.caValid && first.serverValid) return result;

  await withLock(path.join(abs, '.lock'), async () => {
    // Another process may have generated everything while we waited for the lock.
    const state = await inspect(files, names);
    if (state.caValid && state.serverValid) return;
    const work = await fs.mkdtemp(path.join(abs, '.tmp-'));
    try {
      const cnf = path.join(work, 'openssl.cnf');
      await fs.writeFile(cnf, opensslConfig(names));
      if (!state.caValid) {
        await exec(openssl, [
          'req', '-x509', '-config', cnf, '-extensions', 'v3_ca',
          '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
          '-keyout', path.join(work, 'ca.key'), '-out', path.join(work, 'ca.crt'),
          '-days', String(CA_DAYS), '-sha256',
        ]); // prettier-ignore
      }
      const caCert = state.caValid ? files.caCert : path.join(work, 'ca.crt');
      const caKey = state.caValid ? files.caKey : path.join(work, 'ca.key');
      await exec(openssl, [
        'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(work, 'server.key'),
      ]); // prettier-ignore
      await exec(openssl, [
        'req', '-new', '-config', cnf, '-key', path.join(work, 'server.key'),
        '-subj', '/CN=localhost', '-out', path.join(work, 'server.csr'),
      ]); // prettier-ignore
      // A random 127-bit serial: browsers reject a CA that reuses a serial for a different certificate.
      const serial = `0x${(crypto.randomBytes(16).readUInt8(0) & 0x7f).toString(16).padStart(2, '0')}${crypto
        .randomBytes(15)
        .toString('hex')}`;
      await exec(openssl, [
        'x509', '-req', '-in', path.join(work, 'server.csr'), '-CA', caCert, '-CAkey', caKey,
        '-set_serial', serial, '-days', String(SERVER_DAYS), '-sha256',
        '-extfile', cnf, '-extensions', 'v3_server', '-out', path.join(work, 'server.crt'),
      ]); // prettier-ignore
      await fs.chmod(path.join(work, 'server.key'), 0o600);
      // Keys before certificates, CA before leaf: a reader that races the renames sees at worst an old
      // certificate with a new key, which nginx -t reports, never a silently wrong trust anchor.
      if (!state.caValid) {
        await fs.chmod(path.join(work, 'ca.key'), 0o600);
        await fs.rename(path.join(work, 'ca.key'), files.caKey);
        await fs.rename(path.join(work, 'ca.crt'), files.caCert);
      }
      await fs.rename(path.join(work, 'server.key'), files.key);
      await fs.rename(path.join(work, 'server.crt'), files.cert);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  });

  const final = await inspect(files, names);
  if (!final.caValid || !final.serverValid) {
    throw new Error(`ensureTlsMaterial: generated material in ${abs} does not verify (${final.reason})`);
  }
  return result;
}

/**
 * @param {{ caCert: string, caKey: string, cert: string, key: string }} files
 * @param {readonly string[]} names extra names the server certificate must cover
 * @returns {Promise<{ caValid: boolean, serverValid: boolean, reason: string }>}
 */
async function inspect(files, names) {
  const renewBefore = Date.now() + RENEW_BEFORE_MS;
  /** @type {crypto.X509Certificate} */
  let ca;
  try {
    ca = new crypto.X509Certificate(await fs.readFile(files.caCert));
    const caKey = crypto.createPrivateKey(await fs.readFile(files.caKey));
    if (!ca.ca || !ca.checkPrivateKey(caKey))
      return { caValid: false, serverValid: false, reason: 'CA unusable' };
    if (Date.parse(ca.validTo) < renewBefore)
      return { caValid: false, serverValid: false, reason: 'CA expiring' };
  } catch (err) {
    return { caValid: false, serverValid: false, reason: describe(err) };
  }
  try {
    const cert = new crypto.X509Certificate(await fs.readFile(files.cert));
    const key = crypto.createPrivateKey(await fs.readFile(files.key));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      return { caValid: true, serverValid: false, reason: 'server certificate not signed by the CA' };
    }
    if (!cert.checkPrivateKey(key)) return { caValid: true, serverValid: false, reason: 'key mismatch' };
    if (Date.parse(cert.validTo) < renewBefore) {
      return { caValid: true, serverValid: false, reason: 'server certificate expiring' };
    }
    if (!cert.checkHost('localhost') || !cert.checkIP('127.0.0.1')) {
      return { caValid: true, serverValid: false, reason: 'server certificate lacks localhost SANs' };
    }
    const missing = names.filter((n) => (net.isIP(n) ? !cert.checkIP(n) : !cert.checkHost(n)));
    if (missing.length > 0) {
      return { caValid: true, serverValid: false, reason: `server certificate lacks ${missing.join(', ')}` };
    }
  } catch (err) {
    return { caValid: true, serverValid: false, reason: describe(err) };
  }
  return { caValid: true, serverValid: true, reason: '' };
}

/** @param {unknown} err */
function describe(err) {
  const e = /** @type {NodeJS.ErrnoException} */ (err);
  return e.code === 'ENOENT' ? 'missing' : e.message;
}

/**
 * @param {string} cmd
 * @param {string[]} args
 */
async function exec(cmd, args) {
  try {
    await execFileAsync(cmd, args, { timeout: 30_000 });
  } catch (err) {
    const e = /** @type {Error & { stderr?: string }} */ (err);
    throw new Error(`${cmd} ${args[0]} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/**
 * Runs `fn` holding a directory lock (mkdir is atomic), so parallel callers (Jest workers, two
 * terminals) never mix a CA from one run with a certificate from another.
 * @param {string} lockDir
 * @param {() => Promise<void>} fn
 */
async function withLock(lockDir, fn) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      const stat = await fs.stat(lockDir).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs > LOCK_STALE_MS) {
        // Left behind by a killed process; generation takes seconds, so this age means nobody holds it.
        await fs.rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${lockDir}; remove it if no setup is running`);
      await sleep(100);
    }
  }
  try {
    await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

module.exports = { ensureTlsMaterial };
