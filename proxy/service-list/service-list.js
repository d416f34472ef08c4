// @ts-check
'use strict';
// The one list of Concord services (docs/decisions/014-service-list.md): the `concord` field of every
// services/<name>/package.json, read and validated here and nowhere else. The local stack, the gateway
// config, docker-compose.yml and k8s/ are all derived from it, so adding a service is adding its folder.

const fs = require('node:fs');
const path = require('node:path');
const { z } = require('zod');

/**
 * The repository root: the nearest directory above this file whose package.json declares the
 * workspaces. Not simply `../..`: the benchmarks run a compiled copy of this file from
 * `.run/bench-dist/proxy/service-list/`, whose `../..` holds compiled services but no package.json.
 */
const REPO_ROOT = findRepoRoot(__dirname);

/** @param {string} from */
function findRepoRoot(from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && 'workspaces' in JSON.parse(fs.readFileSync(manifest, 'utf8'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json with workspaces above ${from}`);
  }
}

/**
 * Variables that the topology itself sets for every replica (ports, identity, data stores, trust, the
 * JWKS wiring); a service's `env` may not set them, or two sources would disagree about one value.
 */
const TOPOLOGY_ENV = Object.freeze([
  'HOST',
  'PORT',
  'METRICS_PORT',
  'INTERNAL_PORT',
  'REPLICA_ID',
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_PREFIX',
  'TRUSTED_PROXIES',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWKS_URL',
  'JWT_KEYS_FILE',
  'EXPOSE_REPLICA_HEADER',
  'LOG_LEVEL',
]);

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;
const port = z.number().int().min(1024).max(65535);
const envName = z.string().regex(ENV_NAME, 'an upper-case environment variable name');
const envMap = z
  .record(envName, z.string())
  .refine((env) => Object.keys(env).every((k) => !TOPOLOGY_ENV.includes(k)), {
    message: `the topology sets ${TOPOLOGY_ENV.join(', ')} itself`,
  });

const route = z.strictObject({
  // Plain URI characters only: the path is spliced into nginx `location` lines and HTTPRoutes.
  path: z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, 'an absolute path of URI characters'),
  match: z.enum(['exact', 'prefix']),
});

const concordField = z.strictObject({
  /** nginx upstream name (`concord_<upstream>`) and the service's short name. */
  upstream: z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'lower-case letters and digits'),
  /** Replicas in the local stack and compose; the Deployment's starting count in k8s. */
  replicas: z.number().int().min(1).max(9),
  /** Base ports: replica n of the local stack listens on base + n - 1; containers all on base. */
  ports: z.strictObject({ http: port, metrics: port, internal: port.optional() }),
  /** `provider` serves the JWKS on its internal listener; `consumer`s fetch it (JWKS_URL). */
  jwks: z.enum(['provider', 'consumer']).optional(),
  /** Secret environment variables only this service receives (generated locally, a Secret in k8s). */
  secrets: z.array(envName).default([]),
  /** Non-secret variables for every deployment of the service. */
  env: envMap.default({}),
  /** Non-secret variables for the local profile only (npm start, compose, the k8s local overlay). */
  localEnv: envMap.default({}),
  gateway: z.strictObject({
    routes: z.array(route).min(1),
    /** `POST <path>` gets a per-client-address limit at the edge and is never retried. */
    credentialEndpoints: z.array(z.string()).default([]),
    /** WebSocket upgrade headers on every route of the service. */
    websocket: z.boolean().default(false),
    /** `client-address`: `hash $remote_addr consistent`, so long-polling stays on one replica. */
    affinity: z.enum(['none', 'client-address']).default('none'),
    /** nginx proxy_read_timeout / proxy_send_timeout. */
    readTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
  }),
  k8s: z.strictObject({
    resources: z.strictObject({
      cpu: z.string().regex(/^\d+m?$/, 'a CPU quantity such as 250m'),
      memory: z.string().regex(/^\d+(Mi|Gi)$/, 'a memory quantity such as 192Mi'),
      memoryLimit: z.string().regex(/^\d+(Mi|Gi)$/, 'a memory quantity such as 512Mi'),
    }),
    autoscaling: z.strictObject({
      minReplicas: z.number().int().min(1),
      maxReplicas: z.number().int().min(1),
      cpuUtilization: z.number().int().min(1).max(100),
      /** Target average of concord_realtime_sockets per pod (a Pods metric through an adapter). */
      socketsPerPod: z.number().int().min(1).optional(),
    }),
    production: z.strictObject({
      replicas: z.number().int().min(1),
      minReplicas: z.number().int().min(1),
      maxReplicas: z.number().int().min(1),
    }),
  }),
});

/**
 * @typedef {z.output<typeof concordField>} ConcordField
 * @typedef {z.output<typeof route>} Route
 *
 * @typedef {ConcordField & {
 *   name: string,
 *   packageName: string,
 *   main: string,
 * }} ServiceDefinition `name` is the folder under services/ (also the k8s and compose name), `main`
 *   the entry point relative to the repository root.
 *
 * @typedef {{ name: string, packageJson: unknown }} ServiceManifest one services/<name>/package.json
 */

/** A service list that violates a rule; the message names the service and the field. */
class ServiceListError extends Error {}

/**
 * Reads and validates the `concord` field of every services/<name>/package.json under `root`.
 * @param {string} [root] repository root
 * @returns {readonly ServiceDefinition[]} sorted by name, frozen
 */
function readServiceList(root = REPO_ROOT) {
  const dir = path.join(root, 'services');
  const names = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'package.json')))
    .map((e) => e.name);
  return parseServiceList(
    names.map((name) => ({
      name,
      packageJson: JSON.parse(fs.readFileSync(path.join(dir, name, 'package.json'), 'utf8')),
    })),
  );
}

/**
 * Validates service manifests as they would be read from disk (pure; tests feed it variants).
 * @param {ServiceManifest[]} manifests
 * @returns {readonly ServiceDefinition[]}
 */
function parseServiceList(manifests) {
  /** @type {string[]} */
  const problems = [];
  /** @type {ServiceDefinition[]} */
  const services = [];
  for (const { name, packageJson } of [...manifests].sort((a, b) => a.name.localeCompare(b.name))) {
    const where = `services/${name}/package.json`;
    if (!/^[a-z][a-z0-9-]*-service$/.test(name)) {
      problems.push(`${where}: the folder name must be <name>-service in lower case`);
      continue;
    }
    const pkg = /** @type {{ name?: unknown, concord?: unknown }} */ (packageJson ?? {});
    if (pkg.concord === undefined) {
      problems.push(`${where}: no "concord" field (docs/decisions/014-service-list.md lists its members)`);
      continue;
    }
    const parsed = concordField.safeParse(pkg.concord);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(`${where}: concord.${issue.path.join('.')}: ${issue.message}`);
      }
      continue;
    }
    services.push({
      ...parsed.data,
      name,
      packageName: typeof pkg.name === 'string' ? pkg.name : name,
      main: `services/${name}/dist/main.js`,
    });
  }
  problems.push(...crossServiceProblems(services));
  if (problems.length > 0) throw new ServiceListError(`invalid service list:\n  ${problems.join('\n  ')}`);
  return Object.freeze(services.map((s) => deepFreeze(s)));
}

/**
 * Rules over the whole list: unique names, ports and routes, one JWKS provider with an internal
 * listener, credential endpoints inside their service's routes.
 * @param {ServiceDefinition[]} services
 * @returns {string[]}
 */
function crossServiceProblems(services) {
  /** @type {string[]} */
  const problems = [];
  /** @type {Map<string, string>} */
  const upstreams = new Map();
  /** @type {Map<number, string>} */
  const ports = new Map();
  /** @type {Map<string, string>} */
  const paths = new Map();
  /** @type {Map<string, string>} */
  const zones = new Map();
  for (const s of services) {
    const where = `services/${s.name}/package.json: concord`;
    const other = upstreams.get(s.upstream);
    if (other) problems.push(`${where}.upstream: "${s.upstream}" is also ${other}'s`);
    upstreams.set(s.upstream, s.name);

    // The local stack puts replica n on base + n - 1, so every base claims `replicas` ports.
    for (const [listener, base] of Object.entries(s.ports)) {
      if (base === undefined) continue;
      for (let i = 0; i < s.replicas; i++) {
        const taken = ports.get(base + i);
        if (taken) problems.push(`${where}.ports.${listener}: port ${base + i} is also ${taken}`);
        ports.set(base + i, `${s.name} ${listener}`);
      }
    }

    for (const r of s.gateway.routes) {
      if (r.match === 'prefix' && !r.path.endsWith('/')) {
        problems.push(`${where}.gateway.routes: prefix ${r.path} must end with "/" (whole segments only)`);
      }
      const key = `${r.match} ${r.path}`;
      const owner = paths.get(key);
      if (owner) problems.push(`${where}.gateway.routes: ${key} is also ${owner}'s`);
      paths.set(key, s.name);
    }
    for (const endpoint of s.gateway.credentialEndpoints) {
      const zone = endpoint.split('/').at(-1) ?? '';
      if (!/^\/[A-Za-z0-9._~/-]*\/[a-z]+$/.test(endpoint)) {
        problems.push(`${where}.gateway.credentialEndpoints: ${endpoint} must be a path ending in /<name>`);
        continue;
      }
      if (!s.gateway.routes.some((r) => r.match === 'prefix' && endpoint.startsWith(r.path))) {
        problems.push(`${where}.gateway.credentialEndpoints: ${endpoint} is outside the service's routes`);
      }
      const owner = zones.get(zone);
      if (owner)
        problems.push(`${where}.gateway.credentialEndpoints: the limit name "${zone}" is also ${owner}'s`);
      zones.set(zone, s.name);
    }

    const a = s.k8s.autoscaling;
    if (a.minReplicas > a.maxReplicas)
      problems.push(`${where}.k8s.autoscaling: minReplicas above maxReplicas`);
    const p = s.k8s.production;
    if (p.minReplicas > p.maxReplicas)
      problems.push(`${where}.k8s.production: minReplicas above maxReplicas`);
  }
  const providers = services.filter((s) => s.jwks === 'provider');
  if (services.some((s) => s.jwks === 'consumer') && providers.length !== 1) {
    problems.push(`exactly one service must have "jwks": "provider" (found ${providers.length})`);
  }
  for (const s of providers) {
    if (s.ports.internal === undefined) {
      problems.push(
        `services/${s.name}/package.json: concord.ports.internal: the JWKS provider needs an internal ` +
          'listener (JWKS and health only, never reads X-Forwarded-*)',
      );
    }
  }
  return problems;
}

/**
 * The service whose internal listener serves the JWKS to every consumer.
 * @param {readonly ServiceDefinition[]} services
 * @returns {ServiceDefinition & { ports: { internal: number } }}
 */
function jwksProvider(services) {
  const provider = services.find((s) => s.jwks === 'provider');
  if (provider?.ports.internal === undefined) {
    throw new ServiceListError('the service list has no JWKS provider with an internal port');
  }
  return /** @type {ServiceDefinition & { ports: { internal: number } }} */ (provider);
}

/**
 * @template T
 * @param {T} value
 * @returns {T}
 */
function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

module.exports = {
  REPO_ROOT,
  TOPOLOGY_ENV,
  ServiceListError,
  readServiceList,
  parseServiceList,
  jwksProvider,
};
