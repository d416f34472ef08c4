// @ts-check
'use strict';
// docker-compose.yml, rendered from the service list: Postgres, Redis, the migrate/keys/gateway-init
// one-shots, every replica of every service, and nginx in front (DESIGN.md sections 1, 2 and 8;
// docs/decisions/005-deployment.md).

const { yamlDocument } = require('./yaml-file');
const { jwksProvider } = require('../service-list/service-list');
const { composeReplicaName } = require('../gateway/container-config');

/**
 * @typedef {import('../service-list/service-list').ServiceDefinition} ServiceDefinition
 * @typedef {import('./yaml-file').Comments} Comments
 */

const GATEWAY_IP = '${CONCORD_GATEWAY_IP:-10.203.0.10}';
const DATABASE_URL =
  'postgresql://concord:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env (see .env.example)}@postgres:5432/concord';
const KEYS_DIR = '/var/lib/concord/keys';
const KEYS_FILE = `${KEYS_DIR}/jwt-keys.json`;
/** The public URL of compose's gateway, which is also the token issuer. */
const PUBLIC_URL = 'https://localhost:8443';

/** Shared by every container built from this repository. */
const HARDENING = Object.freeze({
  init: true,
  read_only: true,
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
  tmpfs: ['/tmp'],
});

/** @param {string} target */
function concordImage(target) {
  return target === 'runtime'
    ? { image: 'concord:local', build: { context: '.', target: 'runtime' } }
    : { image: 'concord-local-tools:local', build: { context: '.', target } };
}

/**
 * @param {readonly ServiceDefinition[]} services
 * @returns {string}
 */
function renderCompose(services) {
  const provider = jwksProvider(services);
  /** @type {Record<string, unknown>} */
  const composeServices = {
    postgres: {
      image: 'postgres:15',
      restart: 'unless-stopped',
      environment: {
        POSTGRES_USER: 'concord',
        POSTGRES_DB: 'concord',
        POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env (see .env.example)}',
      },
      volumes: ['postgres-data:/var/lib/postgresql/data'],
      networks: ['backend'],
      shm_size: '128mb',
      stop_grace_period: '30s',
      healthcheck: {
        test: ['CMD', 'pg_isready', '--host=127.0.0.1', '--username=concord', '--dbname=concord'],
        interval: '2s',
        timeout: '5s',
        retries: 30,
        start_period: '10s',
      },
    },
    redis: {
      image: 'redis:7',
      restart: 'unless-stopped',
      command: ['redis-server', '--save', '', '--appendonly', 'no'],
      networks: ['backend'],
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '2s', timeout: '3s', retries: 30 },
    },
    migrate: {
      ...concordImage('runtime'),
      ...HARDENING,
      restart: 'no',
      command: ['node', 'libs/db/dist/migrate-cli.js'],
      environment: { DATABASE_URL },
      networks: ['backend'],
      depends_on: { postgres: { condition: 'service_healthy' } },
    },
    keys: {
      ...concordImage('runtime'),
      ...HARDENING,
      restart: 'no',
      command: ['node', `services/${provider.name}/dist/keys-cli.js`, 'init', '--file', KEYS_FILE],
      environment: { JWT_KEYS_FILE: KEYS_FILE },
      volumes: [`jwt-keys:${KEYS_DIR}`],
      network_mode: 'none',
    },
    'gateway-init': {
      ...concordImage('local-tools'),
      ...HARDENING,
      restart: 'no',
      user: '10001:101',
      command: ['node', 'proxy/gateway/container-config.js', 'compose', '--out', '/var/lib/concord/gateway'],
      environment: { GATEWAY_PROXY_BIND: GATEWAY_IP, GATEWAY_EXPOSE_REPLICA_HEADER: 'true' },
      volumes: ['gateway:/var/lib/concord/gateway'],
      network_mode: 'none',
    },
  };
  /** @type {Comments} */
  const comments = [
    [
      ['services', 'postgres', 'healthcheck'],
      'Over TCP: during initdb the entrypoint runs a socket-only server that must not count as up.',
    ],
    [
      ['services', 'redis', 'command'],
      'Nothing on disk, as DESIGN.md assumes: auth-service re-seeds the revocation snapshot from\nPostgres after every Redis restart.',
    ],
    [
      ['services', 'migrate'],
      'One-shot: applies libs/db/prisma/migrations under the advisory lock, then exits 0.',
    ],
    [
      ['services', 'keys'],
      'One-shot: creates the shared JWT signing-key file once (mode 0600, a no-op when it exists). Rotate\n' +
        `with \`docker compose run --rm keys node services/${provider.name}/dist/keys-cli.js rotate\`\n` +
        '(docs/decisions/004-signing-keys.md); the replicas reload the file by themselves.',
    ],
    [
      ['services', 'gateway-init'],
      "One-shot: the gateway's TLS material (a local CA and a localhost certificate) and its nginx.conf,\n" +
        'rendered by proxy/gateway for the replicas below (the image carries the service list). Group 101\n' +
        "is the nginx image's: nginx reads the server key through it.",
    ],
  ];

  const replicaNames = [];
  for (const s of services) {
    for (let n = 1; n <= s.replicas; n++) {
      const name = composeReplicaName(s, n);
      replicaNames.push(name);
      composeServices[name] = replicaService(s, n, provider);
      if (n === 1) comments.push([['services', name], replicaComment(s, provider)]);
    }
  }

  composeServices.nginx = {
    image: 'nginx:1.28',
    restart: 'unless-stopped',
    user: '101:101',
    read_only: true,
    cap_drop: ['ALL'],
    security_opt: ['no-new-privileges:true'],
    entrypoint: [
      '/bin/sh',
      '-c',
      'ln -sf /dev/stderr /run/concord-gateway/error.log && ln -sf /dev/stdout /run/concord-gateway/access.log && ' +
        "exec nginx -c /etc/concord-gateway/conf/nginx.conf -g 'daemon off;'",
    ],
    tmpfs: ['/run/concord-gateway'],
    volumes: ['gateway:/etc/concord-gateway:ro'],
    ports: ['127.0.0.1:8443:8443', '127.0.0.1:8080:8080'],
    networks: { edge: {}, backend: { ipv4_address: GATEWAY_IP } },
    depends_on: {
      'gateway-init': { condition: 'service_completed_successfully' },
      ...Object.fromEntries(replicaNames.map((n) => [n, { condition: 'service_healthy' }])),
    },
  };
  comments.push(
    [
      ['services', 'nginx', 'entrypoint'],
      "The rendered config keeps pid, temp files and logs in /run/concord-gateway; the two symlinks send\nthe logs to the container's output.",
    ],
    [
      ['services', 'nginx', 'networks', 'backend'],
      'Fixed, so that the services can trust exactly this address (TRUSTED_PROXIES above).',
    ],
  );

  const header = [
    'GENERATED by `npm run render` (proxy/deploy) from the service list, the `concord` field of every',
    'services/<name>/package.json. Do not edit: change the list or the renderer, then re-render;',
    'test/deploy fails when this file differs from what the renderer writes.',
    '',
    "Concord's local stack in containers (DESIGN.md sections 2 and 8): Postgres, Redis, the migrate,",
    'keys and gateway-init one-shots, the replicas of every service and the nginx gateway in front.',
    '',
    '  cp .env.example .env        # then fill in the secrets it asks for',
    '  docker compose up --build   # https://localhost:8443 (http://localhost:8080 redirects there)',
    '',
    'The same trust model as `npm start`: nginx connects to the services from one fixed address',
    "(CONCORD_GATEWAY_IP, the counterpart of the local stack's 127.0.0.2) and the services trust",
    'X-Forwarded-* from that /32 only. Each replica has its own container address, so every replica of a',
    "service listens on the service's base port. More: docs/operations.md; why: docs/decisions/005.",
  ].join('\n');

  return yamlDocument(
    {
      services: composeServices,
      networks: {
        edge: {},
        backend: {
          internal: true,
          ipam: { config: [{ subnet: '${CONCORD_BACKEND_SUBNET:-10.203.0.0/24}' }] },
        },
      },
      volumes: { 'postgres-data': {}, 'jwt-keys': {}, gateway: {} },
    },
    {
      header,
      comments: [
        ...comments,
        [['networks', 'edge'], 'Published gateway ports only.'],
        [['networks', 'backend'], 'Everything else; internal: no route to or from the outside world.'],
      ],
    },
  );
}

/**
 * @param {ServiceDefinition} s
 * @param {ServiceDefinition} provider
 */
function replicaComment(s, provider) {
  const lines = [`${s.name}: ${s.replicas} replicas, http ${s.ports.http}, metrics ${s.ports.metrics}`];
  if (s.ports.internal !== undefined) {
    lines.push(`(internal ${s.ports.internal}: JWKS and health only, never reads X-Forwarded-*).`);
  }
  if (s.jwks === 'consumer') {
    lines.push(`Verifies tokens with ${provider.name}'s JWKS, fetched from its internal listener.`);
  }
  return lines.join('\n');
}

/**
 * One replica container.
 * @param {ServiceDefinition} s
 * @param {number} n
 * @param {ServiceDefinition} provider
 */
function replicaService(s, n, provider) {
  /** @type {Record<string, string>} */
  const environment = {
    ...s.env,
    ...s.localEnv,
    HOST: '0.0.0.0',
    PORT: String(s.ports.http),
    ...(s.ports.internal === undefined ? {} : { INTERNAL_PORT: String(s.ports.internal) }),
    METRICS_PORT: String(s.ports.metrics),
    REPLICA_ID: composeReplicaName(s, n),
    DATABASE_URL,
    REDIS_URL: 'redis://redis:6379',
    REDIS_PREFIX: 'concord:',
    TRUSTED_PROXIES: `${GATEWAY_IP}/32`,
    JWT_ISSUER: PUBLIC_URL,
    JWT_AUDIENCE: 'concord',
    ...(s.jwks === 'provider' ? { JWT_KEYS_FILE: KEYS_FILE } : {}),
    ...(s.jwks === 'consumer'
      ? { JWKS_URL: `http://${provider.name}:${provider.ports.internal}/.well-known/jwks.json` }
      : {}),
    ...Object.fromEntries(
      s.secrets.map((name) => [name, `\${${name}:?set ${name} in .env (see .env.example)}`]),
    ),
    EXPOSE_REPLICA_HEADER: 'true',
    LOG_LEVEL: '${LOG_LEVEL:-info}',
  };
  const providerReplicas = Array.from({ length: provider.replicas }, (_, i) =>
    composeReplicaName(provider, i + 1),
  );
  return {
    ...concordImage('runtime'),
    ...HARDENING,
    restart: 'unless-stopped',
    // Longer than SHUTDOWN_GRACE_MS (10 s): SIGTERM drains in-flight requests before SIGKILL.
    stop_grace_period: '20s',
    command: ['node', s.main],
    environment,
    ...(s.jwks === 'provider' ? { volumes: [`jwt-keys:${KEYS_DIR}:ro`] } : {}),
    // The service name is an alias of every replica: JWKS_URL names the provider this way.
    networks: { backend: { aliases: [s.name] } },
    healthcheck: {
      // /readyz: revocation snapshot loaded and not draining (DESIGN.md section 8). The image has no
      // curl; Node's fetch does the same.
      test: [
        'CMD',
        'node',
        '-e',
        "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))",
      ],
      interval: '5s',
      timeout: '3s',
      retries: 3,
      start_period: '30s',
    },
    depends_on: {
      migrate: { condition: 'service_completed_successfully' },
      ...(s.jwks === 'provider' ? { keys: { condition: 'service_completed_successfully' } } : {}),
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      // A verifier answers 401 until it has the JWKS: start it once the provider serves it.
      ...(s.jwks === 'consumer'
        ? Object.fromEntries(providerReplicas.map((r) => [r, { condition: 'service_healthy' }]))
        : {}),
    },
  };
}

module.exports = { renderCompose };
