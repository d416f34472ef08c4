// @ts-check
'use strict';
// The Kubernetes objects of one service of the list: Deployment, Service, HPA, PDB and its
// NetworkPolicy (DESIGN.md section 8), plus the env file of its own ConfigMap.

const { yamlDocument, yamlStream } = require('./yaml-file');
const { k8sUpstreamServiceName } = require('../gateway/container-config');

/**
 * @typedef {import('../service-list/service-list').ServiceDefinition} ServiceDefinition
 * @typedef {import('./yaml-file').Comments} Comments
 */

const KEYS_DIR = '/var/lib/concord/keys';
/** The Pods metric realtime-service scales on (prometheus-adapter rule: docs/operations.md). */
const SOCKETS_METRIC = 'concord_realtime_sockets';

/** @param {ServiceDefinition} s */
function labels(s) {
  return {
    'app.kubernetes.io/name': s.name,
    'app.kubernetes.io/component': 'service',
    'app.kubernetes.io/part-of': 'concord',
  };
}

/** @param {ServiceDefinition} s */
function metadata(s) {
  return { name: s.name, labels: labels(s) };
}

/** @param {string} name */
function secretRef(name) {
  return { name, valueFrom: { secretKeyRef: { name: 'concord-secrets', key: name } } };
}

/**
 * Like {@link secretRef}, for a key the Secret may leave out (then the variable is unset).
 * @param {string} name
 */
function optionalSecretRef(name) {
  return { name, valueFrom: { secretKeyRef: { name: 'concord-secrets', key: name, optional: true } } };
}

/**
 * @param {ServiceDefinition} s
 * @param {ServiceDefinition} provider
 * @returns {string}
 */
function deployment(s, provider) {
  const provides = s.jwks === 'provider';
  const ports = [
    { name: 'http', containerPort: s.ports.http, protocol: 'TCP' },
    ...(s.ports.internal === undefined
      ? []
      : [{ name: 'internal', containerPort: s.ports.internal, protocol: 'TCP' }]),
    { name: 'metrics', containerPort: s.ports.metrics, protocol: 'TCP' },
  ];
  const env = [
    { name: 'PORT', value: String(s.ports.http) },
    ...(s.ports.internal === undefined ? [] : [{ name: 'INTERNAL_PORT', value: String(s.ports.internal) }]),
    { name: 'METRICS_PORT', value: String(s.ports.metrics) },
    ...(provides ? [{ name: 'JWT_KEYS_FILE', value: `${KEYS_DIR}/jwt-keys.json` }] : []),
    ...(s.jwks === 'consumer'
      ? [
          {
            name: 'JWKS_URL',
            value: `http://${provider.name}:${provider.ports.internal}/.well-known/jwks.json`,
          },
        ]
      : []),
    { name: 'REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    secretRef('DATABASE_URL'),
    secretRef('REDIS_URL'),
    // Optional key: present, it runs the pod on a Redis Cluster instead of REDIS_URL (DESIGN.md section 9).
    optionalSecretRef('REDIS_CLUSTER_NODES'),
    ...s.secrets.map((name) => secretRef(name)),
  ];
  const restricted = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
  const spread = ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: { 'app.kubernetes.io/name': s.name } },
    matchLabelKeys: ['pod-template-hash'],
  }));
  const keysSync = {
    name: 'keys-sync',
    image: 'concord',
    imagePullPolicy: 'IfNotPresent',
    restartPolicy: 'Always',
    command: [
      '/bin/sh',
      '-c',
      [
        'set -eu',
        'src=/etc/concord/jwt-keys-secret/jwt-keys.json',
        `dst=${KEYS_DIR}/jwt-keys.json`,
        'while :; do',
        '  if ! cmp -s "$src" "$dst"; then',
        '    install -m 0600 "$src" "$dst.tmp"',
        '    mv -f "$dst.tmp" "$dst"',
        '    echo "keys-sync: copied the signing keys from the Secret"',
        '  fi',
        '  sleep 5',
        'done',
        '',
      ].join('\n'),
    ],
    startupProbe: {
      exec: { command: ['test', '-s', `${KEYS_DIR}/jwt-keys.json`] },
      periodSeconds: 1,
      failureThreshold: 30,
    },
    resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '32Mi' } },
    securityContext: restricted,
    volumeMounts: [
      { name: 'jwt-keys-secret', mountPath: '/etc/concord/jwt-keys-secret', readOnly: true },
      { name: 'jwt-keys', mountPath: KEYS_DIR },
    ],
  };
  const container = {
    name: s.name,
    image: 'concord',
    imagePullPolicy: 'IfNotPresent',
    command: ['node', s.main],
    ports,
    envFrom: [{ configMapRef: { name: 'concord-config' } }, { configMapRef: { name: `${s.name}-config` } }],
    env,
    startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'http' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
    resources: {
      requests: { cpu: s.k8s.resources.cpu, memory: s.k8s.resources.memory },
      limits: { memory: s.k8s.resources.memoryLimit },
    },
    securityContext: restricted,
    volumeMounts: [
      ...(provides ? [{ name: 'jwt-keys', mountPath: KEYS_DIR, readOnly: true }] : []),
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
  const value = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(s),
    spec: {
      replicas: s.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: { 'app.kubernetes.io/name': s.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels(s),
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(s.ports.metrics),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            ...(provides ? { fsGroup: 10001 } : {}),
            seccompProfile: { type: 'RuntimeDefault' },
          },
          topologySpreadConstraints: spread,
          ...(provides ? { initContainers: [keysSync] } : {}),
          containers: [container],
          volumes: [
            ...(provides
              ? [
                  {
                    name: 'jwt-keys-secret',
                    secret: {
                      secretName: `${s.upstream}-jwt-keys`,
                      defaultMode: 0o440,
                      items: [{ key: 'jwt-keys.json', path: 'jwt-keys.json' }],
                    },
                  },
                  { name: 'jwt-keys', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
                ]
              : []),
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
  const pod = ['spec', 'template', 'spec'];
  const c = [...pod, 'containers', 0];
  /** @type {Comments} */
  const comments = [
    [
      ['spec', 'strategy'],
      'Never below the desired count during a rollout: a new pod must be ready before an old one goes.',
    ],
    [
      [...pod, 'enableServiceLinks'],
      'No *_SERVICE_HOST/_PORT variables: the configuration is exactly what is listed.',
    ],
    [
      [...pod, 'terminationGracePeriodSeconds'],
      "preStop (5 s) + SHUTDOWN_GRACE_MS (10 s) + the service's own drain + margin.",
    ],
    [[...c, 'envFrom'], `Shared settings (concord-config) and ${s.name}'s own (${s.name}-config).`],
    [
      [...c, 'env'],
      'Fixed here, next to the ports and mounts they must match; secrets from concord-secrets.',
    ],
    [[...c, 'startupProbe'], 'Liveness waits for the first successful start instead of killing it.'],
    [
      [...c, 'readinessProbe'],
      'Ready = revocation snapshot loaded and not draining; deliberately not a Postgres/Redis check,\n' +
        'which would take every pod out at once (DESIGN.md section 8).',
    ],
    [
      [...c, 'lifecycle'],
      'Endpoints are removed asynchronously: keep serving for a few seconds after SIGTERM is decided.',
    ],
    [
      [...c, 'resources'],
      "CPU: a request (the HPA's base) but no limit, so bursts are not throttled into latency.",
    ],
  ];
  if (s.ports.internal !== undefined) {
    comments.push([
      [...c, 'ports', 1],
      "JWKS and health for the other services' JWKS_URL; never reads X-Forwarded-*.",
    ]);
  }
  if (provides) {
    comments.push(
      [
        [...pod, 'securityContext', 'fsGroup'],
        "Makes the Secret's key file readable by group 10001 for keys-sync.",
      ],
      [
        [...pod, 'initContainers'],
        'A native sidecar (Kubernetes >= 1.29): the key ring refuses a key file that group or others may\n' +
          'read (docs/decisions/004-signing-keys.md), but a Secret volume is either root-only or, with\n' +
          'fsGroup, group-readable. keys-sync keeps an owner-only (0600) copy in a memory-backed emptyDir and\n' +
          'refreshes it when the Secret changes (docs/decisions/005-deployment.md).',
      ],
      [
        [...pod, 'volumes', 0, 'secret', 'defaultMode'],
        "0440: readable by the pod's fsGroup (keys-sync), never by others.",
      ],
    );
  }
  return yamlDocument(value, { header: header(s, 'Deployment'), comments });
}

/** @param {ServiceDefinition} s */
function service(s) {
  const clusterIp = yamlDocument(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(s),
      spec: {
        type: 'ClusterIP',
        selector: { 'app.kubernetes.io/name': s.name },
        ports: [
          { name: 'http', port: s.ports.http, targetPort: 'http', protocol: 'TCP' },
          ...(s.ports.internal === undefined
            ? []
            : [{ name: 'internal', port: s.ports.internal, targetPort: 'internal', protocol: 'TCP' }]),
          { name: 'metrics', port: s.ports.metrics, targetPort: 'metrics', protocol: 'TCP' },
        ],
      },
    },
    {
      header:
        `${header(s, 'Service')}\n` +
        `The gateway's upstream (${s.name}:${s.ports.http})` +
        (s.ports.internal === undefined
          ? ''
          : ` and the JWKS_URL of the verifiers (${s.name}:${s.ports.internal})`) +
        '.\nMetrics are scraped per pod; the port is named here for ServiceMonitors.',
    },
  );
  if (s.gateway.affinity !== 'client-address') return clusterIp;
  return yamlStream([clusterIp, podsService(s)]);
}

/**
 * The headless Service of a service whose clients must keep reaching one pod (Engine.IO
 * long-polling): its DNS name resolves to every ready pod, so the gateway's nginx can hash clients
 * over pods (`server ... resolve`) instead of over one ClusterIP that kube-proxy spreads.
 * @param {ServiceDefinition} s
 */
function podsService(s) {
  return yamlDocument(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: k8sUpstreamServiceName(s), labels: labels(s) },
      spec: {
        clusterIP: 'None',
        selector: { 'app.kubernetes.io/name': s.name },
        ports: [{ name: 'http', port: s.ports.http, targetPort: 'http', protocol: 'TCP' }],
      },
    },
    {
      header:
        `Headless: ${k8sUpstreamServiceName(s)} resolves to the ready pods themselves. The gateway's nginx\n` +
        're-resolves it (`server ... resolve`) and keeps each client address on one pod\n' +
        '(`hash $remote_addr consistent`), which Engine.IO long-polling needs; through the\n' +
        'ClusterIP Service above kube-proxy would spread one client over pods.',
    },
  );
}

/** @param {ServiceDefinition} s */
function hpa(s) {
  const a = s.k8s.autoscaling;
  const metrics = [
    {
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.cpuUtilization } },
    },
    ...(a.socketsPerPod === undefined
      ? []
      : [
          {
            type: 'Pods',
            pods: {
              metric: { name: SOCKETS_METRIC },
              target: { type: 'AverageValue', averageValue: String(a.socketsPerPod) },
            },
          },
        ]),
  ];
  /** @type {Comments} */
  const comments = [[['spec', 'behavior'], 'Bursts come and go; do not drop replicas the moment one ends.']];
  if (a.socketsPerPod !== undefined) {
    comments.push([
      ['spec', 'metrics', 1],
      `Sockets per pod, the gauge ${SOCKETS_METRIC} through the custom metrics API (prometheus-adapter;\n` +
        'the rule is in docs/operations.md). The HPA follows whichever metric asks for more replicas.',
    ]);
  }
  return yamlDocument(
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: metadata(s),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        metrics,
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: 300,
            policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
          },
        },
      },
    },
    {
      header: `${header(s, 'HorizontalPodAutoscaler')}\nUtilization is measured against the CPU request.`,
      comments,
    },
  );
}

/** @param {ServiceDefinition} s */
function pdb(s) {
  return yamlDocument(
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(s),
      spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': s.name } } },
    },
    {
      header: `${header(s, 'PodDisruptionBudget')}\nVoluntary disruptions take at most one replica at a time.`,
    },
  );
}

/**
 * The flows of DESIGN.md section 8 for one service: its API from the gateway, its metrics from
 * Prometheus, the provider's internal port from the JWKS consumers only; out to Postgres, Redis and,
 * for a consumer, the provider's internal port.
 * @param {ServiceDefinition} s
 * @param {readonly ServiceDefinition[]} services
 * @param {ServiceDefinition} provider
 */
function networkPolicy(s, services, provider) {
  const consumers = services.filter((x) => x.jwks === 'consumer').map((x) => x.name);
  const ingress = [
    {
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'gateway' } } }],
      ports: [{ protocol: 'TCP', port: 'http' }],
    },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 'metrics' }],
    },
    ...(s.jwks === 'provider' && consumers.length > 0
      ? [
          {
            from: [
              {
                podSelector: {
                  matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: consumers }],
                },
              },
            ],
            ports: [{ protocol: 'TCP', port: 'internal' }],
          },
        ]
      : []),
  ];
  const egress = [
    {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'concord-data' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgresql' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 5432 }],
    },
    {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'concord-data' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 6379 }],
    },
    ...(s.jwks === 'consumer'
      ? [
          {
            to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': provider.name } } }],
            ports: [{ protocol: 'TCP', port: 'internal' }],
          },
        ]
      : []),
  ];
  /** @type {Comments} */
  const comments = [
    [
      ['spec', 'ingress', 0],
      'The API from the gateway only: TRUSTED_PROXIES is the pod CIDR, so any pod that reached this\nport could have its X-Forwarded-For believed.',
    ],
    [['spec', 'ingress', 1, 'from', 0], 'PLACEHOLDER: where Prometheus runs.'],
    [['spec', 'egress', 0, 'to', 0], 'PLACEHOLDER: where Postgres runs (e.g. a CloudNativePG cluster).'],
    [['spec', 'egress', 1, 'to', 0], 'PLACEHOLDER: where Redis runs.'],
  ];
  if (s.jwks === 'provider' && consumers.length > 0) {
    comments.push([
      ['spec', 'ingress', 2],
      'The JWKS consumers, on the internal port only (JWKS and health; it never reads X-Forwarded-*).',
    ]);
  }
  if (s.jwks === 'consumer') {
    comments.push([
      ['spec', 'egress', 2],
      `${provider.name}'s JWKS, on its internal port only, never its API.`,
    ]);
  }
  return yamlDocument(
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(s),
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': s.name } },
        policyTypes: ['Ingress', 'Egress'],
        ingress,
        egress,
      },
    },
    {
      header:
        `${header(s, 'NetworkPolicy')}\n` +
        'On top of default-deny and DNS (network-policies.yaml). Rules name container ports.',
      comments,
    },
  );
}

/**
 * The service's own ConfigMap source (`<name>-config`): the list's `env`; overlays merge into it.
 * @param {ServiceDefinition} s
 */
function configEnv(s) {
  const lines = [
    `# GENERATED by \`npm run render\` from services/${s.name}/package.json (concord.env). Do not edit.`,
    `# The ConfigMap ${s.name}-config: settings of ${s.name} alone (names: docs/configuration.md).`,
    '# Overlays merge their own values into it (configMapGenerator, behavior: merge).',
    ...Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * @param {ServiceDefinition} s
 * @param {string} kind
 */
function header(s, kind) {
  return (
    `GENERATED by \`npm run render\` (proxy/deploy) from services/${s.name}/package.json. Do not edit.\n` +
    `${s.name} ${kind}.`
  );
}

module.exports = { deployment, service, hpa, pdb, networkPolicy, configEnv, SOCKETS_METRIC };
