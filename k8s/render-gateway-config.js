// @ts-check
'use strict';
// Renders the gateway's nginx.conf for the container deployments with proxy/nginx.js, the one renderer
// (no template beside it). Two targets share this file so that compose and Kubernetes cannot drift
// apart in how they call the renderer (docs/decisions/005-deployment.md):
//
//   node k8s/render-gateway-config.js compose --out DIR
//       docker-compose's one-shot `gateway-init` service, at container start: DIR/tls holds a local CA
//       and a localhost certificate (proxy/tls.js), DIR/conf/nginx.conf is rendered from GATEWAY_* env.
//   node k8s/render-gateway-config.js k8s [--check]
//       writes (or, with --check, compares) the nginx.conf files that the kustomizations turn into
//       ConfigMaps; test/deploy fails when they drift from the renderer.

const fs = require('node:fs/promises');
const path = require('node:path');

const { renderNginxConfig } = require('../proxy/nginx');
const { ensureTlsMaterial } = require('../proxy/tls');

/** @typedef {import('../proxy/nginx').NginxConfigOptions} NginxConfigOptions */

/** Where the gateway container keeps pid, temp files and its log symlinks (an emptyDir / tmpfs). */
const CONTAINER_RUN_DIR = '/run/concord-gateway';
/** Where the gateway container reads nginx.conf (compose volume subdirectory / k8s ConfigMap mount). */
const CONTAINER_CONF_DIR = '/etc/concord-gateway/conf';
/** Where the gateway container reads its TLS certificate and key (compose volume / k8s Secret). */
const CONTAINER_TLS_DIR = '/etc/concord-gateway/tls';

/** The upstream names of the renderer, each with the GATEWAY_* variable that lists its replicas. */
const UPSTREAM_ENV = Object.freeze({
  auth: 'GATEWAY_AUTH_UPSTREAMS',
  settings: 'GATEWAY_SETTINGS_UPSTREAMS',
  realtime: 'GATEWAY_REALTIME_UPSTREAMS',
});

/**
 * The kustomize ConfigMap sources. Base is the production-safe variant (the gateway strips
 * X-Concord-Replica even if a service sends it); the local overlay passes the header through.
 * @type {ReadonlyArray<{ file: string, exposeReplicaHeader: boolean }>}
 */
const K8S_TARGETS = Object.freeze([
  { file: 'k8s/base/gateway/nginx.conf', exposeReplicaHeader: false },
  { file: 'k8s/overlays/local/gateway/nginx.conf', exposeReplicaHeader: true },
]);

/**
 * Options for the compose gateway, from the environment of the `gateway-init` service.
 * @param {Record<string, string | undefined>} env
 * @returns {NginxConfigOptions}
 */
function composeGatewayOptions(env) {
  const auth = list(env[UPSTREAM_ENV.auth]);
  if (auth.length === 0) throw new Error(`${UPSTREAM_ENV.auth} must list at least one host:port`);
  const proxyBind = env.GATEWAY_PROXY_BIND ?? '';
  if (!/^[0-9.]+$/.test(proxyBind)) {
    throw new Error("GATEWAY_PROXY_BIND must be the gateway container's fixed IPv4 address");
  }
  return {
    runDir: CONTAINER_RUN_DIR,
    // Inside its container; compose publishes both ports on 127.0.0.1 under the same numbers, so the
    // http -> https redirect (which names the first https port) stays right.
    httpsListen: [{ host: '0.0.0.0', port: 8443 }],
    httpListen: [{ host: '0.0.0.0', port: 8080 }],
    tlsCert: `${CONTAINER_TLS_DIR}/server.crt`,
    tlsKey: `${CONTAINER_TLS_DIR}/server.key`,
    // The services trust X-Forwarded-* only from this address (TRUSTED_PROXIES=<it>/32).
    proxyBind,
    upstreams: {
      auth,
      settings: list(env[UPSTREAM_ENV.settings]),
      realtime: list(env[UPSTREAM_ENV.realtime]),
    },
    exposeReplicaHeader: booleanEnv(env.GATEWAY_EXPOSE_REPLICA_HEADER, 'GATEWAY_EXPOSE_REPLICA_HEADER'),
    // The container runs as the nginx image's unprivileged user, so no `user` directive.
    user: '',
  };
}

/**
 * Options for the Kubernetes gateway Deployment (k8s/base/gateway).
 * @param {{ exposeReplicaHeader: boolean }} variant
 * @returns {NginxConfigOptions}
 */
function k8sGatewayOptions(variant) {
  return {
    runDir: CONTAINER_RUN_DIR,
    // 443/80 inside the pod (net.ipv4.ip_unprivileged_port_start=0 lets the non-root nginx bind them),
    // so the redirect target `https://$host` is what clients reach through the LoadBalancer.
    httpsListen: [{ host: '0.0.0.0', port: 443 }],
    httpListen: [{ host: '0.0.0.0', port: 80 }],
    // Key names of a kubernetes.io/tls Secret.
    tlsCert: `${CONTAINER_TLS_DIR}/tls.crt`,
    tlsKey: `${CONTAINER_TLS_DIR}/tls.key`,
    // A pod's address is not known before it starts, so the kernel picks the source address (nginx
    // sets IP_BIND_ADDRESS_NO_PORT, so this costs no ephemeral ports). The services trust the pod
    // CIDR, and NetworkPolicy admits only gateway pods to their http ports.
    proxyBind: '0.0.0.0',
    // The Service name: kube-proxy spreads connections over ready pods; nginx resolves it at start.
    upstreams: { auth: ['auth-service:4101'] },
    exposeReplicaHeader: variant.exposeReplicaHeader,
    user: '',
  };
}

/**
 * The committed ConfigMap sources, rendered.
 * @returns {Array<{ file: string, content: string }>}
 */
function renderK8sGatewayConfigs() {
  return K8S_TARGETS.map((t) => ({
    file: t.file,
    content:
      `# Rendered by k8s/render-gateway-config.js (exposeReplicaHeader: ${t.exposeReplicaHeader}).\n` +
      '# Regenerate with: node k8s/render-gateway-config.js k8s\n' +
      renderNginxConfig(k8sGatewayOptions(t)),
  }));
}

/**
 * The `gateway-init` work: TLS material and nginx.conf in `outDir` (the shared volume).
 * @param {string} outDir
 * @param {Record<string, string | undefined>} env
 */
async function renderComposeGateway(outDir, env) {
  const config = renderNginxConfig(composeGatewayOptions(env));
  const tlsDir = path.join(outDir, 'tls');
  const tls = await ensureTlsMaterial(tlsDir);
  // gateway-init runs with the nginx image's group (gid 101): nginx, a different user, reads the
  // server key through that group. The CA key stays owner-only.
  await fs.chmod(tlsDir, 0o750);
  await fs.chmod(tls.key, 0o640);
  const confDir = path.join(outDir, 'conf');
  await fs.mkdir(confDir, { recursive: true, mode: 0o755 });
  await writeAtomically(path.join(confDir, 'nginx.conf'), config);
  return { config: path.join(confDir, 'nginx.conf'), ...tls };
}

/**
 * @param {string} file
 * @param {string} content
 */
async function writeAtomically(file, content) {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, content, { mode: 0o644 });
  await fs.rename(tmp, file);
}

/** @param {string | undefined} value */
function list(value) {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * @param {string | undefined} value
 * @param {string} name
 */
function booleanEnv(value, name) {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`${name} must be true or false`);
}

/** @param {string[]} argv */
async function main(argv) {
  const [target, ...rest] = argv;
  const root = path.resolve(__dirname, '..');
  if (target === 'compose') {
    const i = rest.indexOf('--out');
    const out = i >= 0 ? rest[i + 1] : undefined;
    if (!out) throw new Error('usage: render-gateway-config.js compose --out DIR');
    const files = await renderComposeGateway(path.resolve(out), process.env);
    process.stdout.write(`gateway-init: wrote ${files.config}, ${files.cert}\n`);
    return 0;
  }
  if (target === 'k8s') {
    const check = rest.includes('--check');
    let stale = 0;
    for (const { file, content } of renderK8sGatewayConfigs()) {
      const abs = path.join(root, file);
      const current = await fs.readFile(abs, 'utf8').catch(() => undefined);
      if (current === content) continue;
      if (check) {
        stale += 1;
        process.stderr.write(`${file} is out of date: run node k8s/render-gateway-config.js k8s\n`);
      } else {
        await fs.mkdir(path.dirname(abs), { recursive: true });
        await fs.writeFile(abs, content);
        process.stdout.write(`wrote ${file}\n`);
      }
    }
    return stale > 0 ? 1 : 0;
  }
  throw new Error('usage: render-gateway-config.js <compose --out DIR | k8s [--check]>');
}

module.exports = {
  CONTAINER_CONF_DIR,
  CONTAINER_RUN_DIR,
  CONTAINER_TLS_DIR,
  K8S_TARGETS,
  UPSTREAM_ENV,
  composeGatewayOptions,
  k8sGatewayOptions,
  renderComposeGateway,
  renderK8sGatewayConfigs,
};

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`render-gateway-config: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
