// @ts-check
'use strict';
// The gateway's nginx.conf for the container deployments, rendered by the one renderer
// (nginx-config.js) from the one service list. Both call sites live here so that compose and
// Kubernetes cannot drift apart in how they call it (docs/decisions/005-deployment.md):
//
//   node proxy/gateway/container-config.js compose --out DIR
//       docker-compose's one-shot `gateway-init` service, at container start: DIR/tls holds a local CA
//       and a localhost certificate (tls.js), DIR/conf/nginx.conf is rendered for the replicas of the
//       service list (the image carries services/*/package.json) and the GATEWAY_* env.
//   renderK8sGatewayConfigs()
//       the nginx.conf files that the kustomizations turn into ConfigMaps; proxy/deploy writes them
//       with the other generated manifests and its --check fails when they drift.

const fs = require('node:fs/promises');
const path = require('node:path');

const { renderNginxConfig, gatewayServices } = require('./nginx-config');
const { ensureTlsMaterial } = require('./tls');
const { readServiceList } = require('../service-list/service-list');

/**
 * @typedef {import('./nginx-config').NginxConfigOptions} NginxConfigOptions
 * @typedef {import('../service-list/service-list').ServiceDefinition} ServiceDefinition
 */

/** Where the gateway container keeps pid, temp files and its log symlinks (an emptyDir / tmpfs). */
const CONTAINER_RUN_DIR = '/run/concord-gateway';
/** Where the gateway container reads nginx.conf (compose volume subdirectory / k8s ConfigMap mount). */
const CONTAINER_CONF_DIR = '/etc/concord-gateway/conf';
/** Where the gateway container reads its TLS certificate and key (compose volume / k8s Secret). */
const CONTAINER_TLS_DIR = '/etc/concord-gateway/tls';

/**
 * The kustomize ConfigMap sources. Base is the production-safe variant (the gateway strips
 * X-Concord-Replica even if a service sends it); the local overlay passes the header through.
 * @type {ReadonlyArray<{ file: string, exposeReplicaHeader: boolean }>}
 */
const K8S_TARGETS = Object.freeze([
  { file: 'k8s/base/gateway/nginx.conf', exposeReplicaHeader: false },
  { file: 'k8s/overlays/local/gateway/nginx.conf', exposeReplicaHeader: true },
]);

/** The namespace of k8s/ (every kustomization sets it); the gateway names Services in it. */
const K8S_NAMESPACE = 'concord';
/** The cluster DNS Service (CoreDNS keeps the kube-dns name), resolved by nginx at start. */
const K8S_DNS = 'kube-dns.kube-system.svc.cluster.local';

/**
 * The Service the Kubernetes gateway proxies a service to: the headless `<name>-pods` Service for a
 * service with client-address affinity (proxy/deploy renders it), the ClusterIP Service otherwise.
 * @param {ServiceDefinition} service
 */
function k8sUpstreamServiceName(service) {
  return service.gateway.affinity === 'client-address' ? `${service.name}-pods` : service.name;
}

/**
 * The compose container name of replica `n` (1-based) of a service; docker-compose.yml
 * (proxy/deploy) names its services the same way.
 * @param {ServiceDefinition} service
 * @param {number} n
 */
function composeReplicaName(service, n) {
  return `${service.name}-${n}`;
}

/**
 * Options for the compose gateway: every replica of every listed service, at its container's http
 * port, reached from the gateway's fixed address.
 * @param {Record<string, string | undefined>} env the `gateway-init` service's environment
 * @param {readonly ServiceDefinition[]} [services]
 * @returns {NginxConfigOptions}
 */
function composeGatewayOptions(env, services = readServiceList()) {
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
    services: gatewayServices(services),
    upstreams: Object.fromEntries(
      services.map((s) => [
        s.upstream,
        Array.from({ length: s.replicas }, (_, i) => `${composeReplicaName(s, i + 1)}:${s.ports.http}`),
      ]),
    ),
    exposeReplicaHeader: booleanEnv(env.GATEWAY_EXPOSE_REPLICA_HEADER, 'GATEWAY_EXPOSE_REPLICA_HEADER'),
    // The container runs as the nginx image's unprivileged user, so no `user` directive.
    user: '',
  };
}

/**
 * Options for the Kubernetes gateway Deployment (k8s/base/gateway).
 * @param {{ exposeReplicaHeader: boolean }} variant
 * @param {readonly ServiceDefinition[]} [services]
 * @returns {NginxConfigOptions}
 */
function k8sGatewayOptions(variant, services = readServiceList()) {
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
    services: gatewayServices(services),
    // Each Service by its cluster DNS name, re-resolved every 5 s through the cluster DNS (nginx's
    // resolver uses no search path, hence the full name). A service whose clients must stay on one pod
    // (realtime: Engine.IO long-polling) is reached through its headless `-pods` Service, so nginx
    // sees every ready pod and `hash $remote_addr consistent` picks one; the others through their
    // ClusterIP, where kube-proxy spreads connections.
    resolver: K8S_DNS,
    upstreams: Object.fromEntries(
      services.map((s) => [
        s.upstream,
        [`${k8sUpstreamServiceName(s)}.${K8S_NAMESPACE}.svc.cluster.local:${s.ports.http}`],
      ]),
    ),
    exposeReplicaHeader: variant.exposeReplicaHeader,
    user: '',
  };
}

/**
 * The committed ConfigMap sources, rendered.
 * @param {readonly ServiceDefinition[]} [services]
 * @returns {Array<{ file: string, content: string }>}
 */
function renderK8sGatewayConfigs(services = readServiceList()) {
  return K8S_TARGETS.map((t) => ({
    file: t.file,
    content:
      `# Rendered by proxy/gateway/container-config.js (exposeReplicaHeader: ${t.exposeReplicaHeader}).\n` +
      '# Regenerate with: npm run render\n' +
      renderNginxConfig(k8sGatewayOptions(t, services)),
  }));
}

/**
 * The `gateway-init` work: TLS material and nginx.conf in `outDir` (the shared volume).
 * @param {string} outDir
 * @param {Record<string, string | undefined>} env
 * @param {readonly ServiceDefinition[]} [services]
 */
async function renderComposeGateway(outDir, env, services = readServiceList()) {
  const config = renderNginxConfig(composeGatewayOptions(env, services));
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
  const i = rest.indexOf('--out');
  const out = i >= 0 ? rest[i + 1] : undefined;
  if (target !== 'compose' || !out) throw new Error('usage: container-config.js compose --out DIR');
  const files = await renderComposeGateway(path.resolve(out), process.env);
  process.stdout.write(`gateway-init: wrote ${files.config}, ${files.cert}\n`);
}

module.exports = {
  CONTAINER_CONF_DIR,
  CONTAINER_RUN_DIR,
  CONTAINER_TLS_DIR,
  K8S_TARGETS,
  composeReplicaName,
  composeGatewayOptions,
  k8sGatewayOptions,
  k8sUpstreamServiceName,
  K8S_NAMESPACE,
  renderComposeGateway,
  renderK8sGatewayConfigs,
};

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`gateway-init: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
