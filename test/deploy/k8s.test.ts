// k8s/: built with the real `kubectl kustomize` for every overlay, validated against the Kubernetes
// schemas, consistent with the service list and with each service's own config schema, and the
// NetworkPolicies evaluated as connections (DESIGN.md sections 4, 7 and 8).
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { readConfig as readAuthConfig } from '../../services/auth-service/src/config';
import { readConfig as readRealtimeConfig } from '../../services/realtime-service/src/config';
import { readConfig as readSettingsConfig } from '../../services/settings-service/src/config';
import { readServiceList, type ServiceDefinition } from '../../proxy/service-list/service-list';
import {
  CONTAINER_CONF_DIR,
  CONTAINER_RUN_DIR,
  CONTAINER_TLS_DIR,
} from '../../proxy/gateway/container-config';
import { SOCKETS_METRIC } from '../../proxy/deploy/k8s-service';
import { ROOT } from './support/compose-file';
import { schemaProblem, unknownFieldProblems } from './support/k8s-schema';
import {
  kustomize,
  kustomizeVirtual,
  parseManifests,
  podSpec,
  withoutGeneratorHashes,
  type ContainerLike,
  type Manifest,
} from './support/kustomize';
import { allowed, type PodView } from './support/network-policy';
import { unknownEnvNames } from '../support/config-names';

const K8S = path.join(ROOT, 'k8s');
const SERVICES = readServiceList();
const READ_CONFIG: Record<string, (env: Record<string, string | undefined>) => object> = {
  'auth-service': readAuthConfig,
  'settings-service': readSettingsConfig,
  'realtime-service': readRealtimeConfig,
};

/** The production overlay with the Gateway API component its header describes. */
const PRODUCTION_WITH_GATEWAY_API = {
  namespace: 'concord',
  resources: ['overlays/production'],
  components: ['gateway-api'],
};

const built: Record<string, Manifest[]> = {
  local: withoutGeneratorHashes(kustomize(path.join(K8S, 'overlays/local'))),
  production: withoutGeneratorHashes(kustomize(path.join(K8S, 'overlays/production'))),
  'production + gateway-api': withoutGeneratorHashes(kustomizeVirtual(K8S, PRODUCTION_WITH_GATEWAY_API)),
};
const BUILD_NAMES = Object.keys(built);

/** Test values for the Secrets' placeholders. */
const SECRET_VALUES: Record<string, Record<string, string>> = {
  'concord-secrets': {
    DATABASE_URL: 'postgresql://concord:test@postgres.concord-data:5432/concord',
    REDIS_URL: 'redis://redis.concord-data:6379',
    REFRESH_TOKEN_SECRET: 'x'.repeat(64),
  },
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name}`);
  return m;
}

function containersOf(m: Manifest): ContainerLike[] {
  const spec = podSpec(m);
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function workloads(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => podSpec(m) !== undefined);
}

function mainContainer(manifests: Manifest[], s: ServiceDefinition): ContainerLike {
  const c = podSpec(find(manifests, 'Deployment', s.name))?.containers?.find((x) => x.name === s.name);
  if (!c) throw new Error(`no ${s.name} container`);
  return c;
}

function containerPorts(c: ContainerLike): Record<string, number> {
  return Object.fromEntries(
    ((c.ports ?? []) as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]),
  );
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

/** The environment a container would see, assembled the way the kubelet does (envFrom, then env). */
function containerEnv(manifests: Manifest[], c: ContainerLike, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of (c.envFrom ?? []) as Array<{ configMapRef?: { name: string } }>) {
    if (!source.configMapRef) throw new Error('only configMapRef envFrom is expected');
    Object.assign(env, (find(manifests, 'ConfigMap', source.configMapRef.name).data ?? {}) as object);
  }
  for (const v of (c.env ?? []) as EnvVar[]) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[v.name] = podName;
    else if (v.valueFrom?.secretKeyRef) {
      const { name, key, optional } = v.valueFrom.secretKeyRef;
      const value = SECRET_VALUES[name]?.[key];
      // The kubelet leaves an optional key that the Secret lacks unset (REDIS_CLUSTER_NODES).
      if (value === undefined && optional) continue;
      if (value === undefined) throw new Error(`no test value for Secret ${name} key ${key}`);
      env[v.name] = value;
    } else throw new Error(`unexpected env source for ${v.name}`);
  }
  return env;
}

describe('k8s/ files', () => {
  const files = yamlFiles(K8S);

  it('every resource file validates against the Kubernetes schemas', () => {
    const problems: string[] = [];
    let count = 0;
    for (const f of files.filter((x) => path.basename(x) !== 'kustomization.yaml')) {
      for (const doc of parseManifests(readFileSync(f, 'utf8'), f) as Manifest[]) {
        count += 1;
        const problem = schemaProblem(doc);
        if (problem) problems.push(`${path.relative(ROOT, f)} ${doc.kind}/${doc.metadata?.name}: ${problem}`);
      }
    }
    expect(count).toBeGreaterThan(25);
    expect(problems).toEqual([]);
  });

  it('the Secret template holds every Secret and key that the workloads reference, and only placeholders', () => {
    const template = parseManifests(
      readFileSync(path.join(K8S, 'base/secrets.template.yaml'), 'utf8'),
      'secrets.template.yaml',
    ) as Manifest[];
    const keys = new Map(
      template.map((s) => [s.metadata.name, Object.keys((s.stringData ?? {}) as Record<string, string>)]),
    );
    for (const name of BUILD_NAMES) {
      const manifests = built[name] ?? [];
      expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
      for (const c of workloads(manifests).flatMap(containersOf)) {
        for (const v of (c.env ?? []) as EnvVar[]) {
          const ref = v.valueFrom?.secretKeyRef;
          // An optional key (REDIS_CLUSTER_NODES) is documented in the template as a comment only.
          if (ref && !ref.optional)
            expect([ref.name, keys.get(ref.name)]).toEqual([ref.name, expect.arrayContaining([ref.key])]);
        }
      }
      for (const w of workloads(manifests)) {
        for (const vol of (podSpec(w)?.volumes ?? []) as Array<{ secret?: { secretName: string } }>) {
          if (vol.secret) expect(keys.has(vol.secret.secretName)).toBe(true);
        }
      }
    }
    for (const s of template)
      for (const v of Object.values((s.stringData ?? {}) as Record<string, string>))
        expect(v).toBe('PLACEHOLDER');
  });
});

describe.each(BUILD_NAMES)('kubectl kustomize: %s', (name) => {
  const manifests = built[name] ?? [];

  it('every object validates against the Kubernetes schemas, without a field its type does not define', () => {
    const problems = manifests.flatMap((m) => {
      const p = schemaProblem(m);
      return p ? [`${m.kind}/${m.metadata.name}: ${p}`] : [];
    });
    expect(problems).toEqual([]);
    expect(
      unknownFieldProblems(manifests.map((m) => ({ label: `${m.kind}/${m.metadata.name}`, manifest: m }))),
    ).toEqual([]);
  });

  it('has a Deployment, Service, HPA, PDB and NetworkPolicy for every service of the list', () => {
    for (const s of SERVICES) {
      for (const kind of [
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'NetworkPolicy',
      ]) {
        expect([kind, manifests.some((m) => m.kind === kind && m.metadata.name === s.name)]).toEqual([
          kind,
          true,
        ]);
      }
    }
  });

  it('every namespaced object lands in the concord namespace, which enforces the restricted standard', () => {
    for (const m of manifests.filter((x) => x.kind !== 'Namespace'))
      expect(m.metadata.namespace).toBe('concord');
    expect(
      find(manifests, 'Namespace', 'concord').metadata.labels?.['pod-security.kubernetes.io/enforce'],
    ).toBe('restricted');
  });

  it('every container runs as non-root with a read-only root filesystem, no capabilities and resources', () => {
    for (const w of workloads(manifests)) {
      const spec = podSpec(w) ?? {};
      const pod = (spec.securityContext ?? {}) as {
        runAsNonRoot?: boolean;
        runAsUser?: number;
        seccompProfile?: { type: string };
      };
      expect([w.metadata.name, pod.runAsNonRoot, pod.seccompProfile?.type]).toEqual([
        w.metadata.name,
        true,
        'RuntimeDefault',
      ]);
      expect(pod.runAsUser).toBeGreaterThan(0);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of containersOf(w)) {
        const sc = (c.securityContext ?? {}) as {
          readOnlyRootFilesystem?: boolean;
          allowPrivilegeEscalation?: boolean;
          capabilities?: { drop?: string[]; add?: string[] };
        };
        const where = `${w.metadata.name}/${c.name}`;
        expect([
          where,
          sc.readOnlyRootFilesystem,
          sc.allowPrivilegeEscalation,
          sc.capabilities?.drop,
        ]).toEqual([where, true, false, ['ALL']]);
        const res = c.resources as
          { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
        expect([where, Boolean(res?.requests?.cpu && res.requests.memory && res.limits?.memory)]).toEqual([
          where,
          true,
        ]);
      }
    }
  });

  it.each(SERVICES.map((s) => s.name))(
    '%s: probes, topology spread and an environment its own config schema parses, with known names only',
    (serviceName) => {
      const s = SERVICES.find((x) => x.name === serviceName)!;
      const c = mainContainer(manifests, s) as ContainerLike &
        Record<string, { httpGet?: { path: string; port: string } }>;
      expect([c.readinessProbe?.httpGet, c.livenessProbe?.httpGet, c.startupProbe?.httpGet]).toEqual([
        { path: '/readyz', port: 'http' },
        { path: '/healthz', port: 'http' },
        { path: '/healthz', port: 'http' },
      ]);
      const spread = podSpec(find(manifests, 'Deployment', s.name))?.topologySpreadConstraints as Array<{
        topologyKey: string;
      }>;
      expect(spread.map((t) => t.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);

      const env = containerEnv(manifests, c, `${s.name}-6d5f7c9b8-x2x7q`);
      const config = READ_CONFIG[s.name]!(env) as Record<string, unknown>;
      expect(unknownEnvNames(env, config)).toEqual([]);
      const ports = containerPorts(c);
      expect([config.PORT, config.METRICS_PORT, config.INTERNAL_PORT]).toEqual([
        s.ports.http,
        s.ports.metrics,
        s.ports.internal,
      ]);
      expect([ports.http, ports.metrics, ports.internal]).toEqual([
        s.ports.http,
        s.ports.metrics,
        s.ports.internal,
      ]);
      expect(config.REPLICA_ID).toBe(`${s.name}-6d5f7c9b8-x2x7q`);
      expect(env.TRUSTED_PROXIES).not.toMatch(/\/0(\s*,|\s*$)/);
      expect(config.EXPOSE_REPLICA_HEADER).toBe(name === 'local');
    },
  );

  it('only auth-service receives REFRESH_TOKEN_SECRET and the signing keys', () => {
    const holders = workloads(manifests)
      .filter((w) =>
        containersOf(w).some((c) =>
          ((c.env ?? []) as EnvVar[]).some((v) => v.valueFrom?.secretKeyRef?.key === 'REFRESH_TOKEN_SECRET'),
        ),
      )
      .map((w) => w.metadata.name);
    const keyVolumes = workloads(manifests)
      .filter((w) =>
        ((podSpec(w)?.volumes ?? []) as Array<{ secret?: { secretName: string } }>).some(
          (v) => v.secret?.secretName === 'auth-jwt-keys',
        ),
      )
      .map((w) => w.metadata.name);

    expect([holders, keyVolumes]).toEqual([['auth-service'], ['auth-service']]);
  });

  it('settings-service has the bench namespace in the local overlay only', () => {
    const env = containerEnv(
      manifests,
      mainContainer(
        manifests,
        SERVICES.find((s) => s.name === 'settings-service')!,
      ),
      'x',
    );
    expect(readSettingsConfig(env).SETTINGS_BENCH_NAMESPACE).toBe(name === 'local');
  });

  it.each(SERVICES.filter((s) => s.jwks === 'consumer').map((s) => s.name))(
    '%s: JWKS_URL is auth-service’s internal listener, through the Service’s `internal` port',
    (serviceName) => {
      const s = SERVICES.find((x) => x.name === serviceName)!;
      const jwks = new URL(containerEnv(manifests, mainContainer(manifests, s), 'x').JWKS_URL ?? '');
      const svc = find(manifests, 'Service', 'auth-service').spec as {
        ports: Array<{ name: string; port: number }>;
      };

      expect([jwks.hostname, jwks.pathname]).toEqual(['auth-service', '/.well-known/jwks.json']);
      expect(Number(jwks.port)).toBe(svc.ports.find((p) => p.name === 'internal')?.port);
      expect(Number(jwks.port)).not.toBe(svc.ports.find((p) => p.name === 'http')?.port);
    },
  );

  it.each(SERVICES.map((s) => s.name))(
    '%s: Service, PDB and HPA select and target the Deployment',
    (serviceName) => {
      const d = find(manifests, 'Deployment', serviceName);
      const podLabels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template
        .metadata.labels;
      const svc = find(manifests, 'Service', serviceName).spec as {
        selector: Record<string, string>;
        ports: Array<{ port: number; targetPort: string }>;
      };
      expect(podLabels).toMatchObject(svc.selector);
      const ports = containerPorts(podSpec(d)?.containers?.[0] as ContainerLike);
      for (const p of svc.ports) expect(ports[p.targetPort]).toBe(p.port);
      const pdb = find(manifests, 'PodDisruptionBudget', serviceName).spec as {
        selector: { matchLabels: object };
      };
      expect(podLabels).toMatchObject(pdb.selector.matchLabels);
      const hpa = find(manifests, 'HorizontalPodAutoscaler', serviceName).spec as {
        scaleTargetRef: { kind: string; name: string };
        metrics: Array<{ resource?: { name: string } }>;
      };
      expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: serviceName });
      expect(hpa.metrics.map((m) => m.resource?.name)).toContain('cpu');
    },
  );
});

describe('kubectl kustomize: scaling', () => {
  it('the production overlay runs more replicas than base, with a higher HPA floor', () => {
    const replicas = (ms: Manifest[], n: string) =>
      (find(ms, 'Deployment', n).spec as { replicas: number }).replicas;
    const floor = (ms: Manifest[], n: string) =>
      (find(ms, 'HorizontalPodAutoscaler', n).spec as { minReplicas: number }).minReplicas;
    for (const s of SERVICES) {
      expect([s.name, replicas(built.local!, s.name), floor(built.local!, s.name)]).toEqual([s.name, 2, 2]);
      expect(replicas(built.production!, s.name)).toBeGreaterThan(2);
      expect(floor(built.production!, s.name)).toBeGreaterThan(2);
    }
  });

  it('realtime-service also scales on sockets per pod (autoscaling/v2 Pods metric)', () => {
    const hpa = find(built.production!, 'HorizontalPodAutoscaler', 'realtime-service').spec as {
      metrics: Array<{
        type: string;
        pods?: { metric: { name: string }; target: { type: string; averageValue: string } };
      }>;
    };
    const pods = hpa.metrics.find((m) => m.type === 'Pods')?.pods;

    expect(pods?.metric.name).toBe(SOCKETS_METRIC);
    expect(pods?.target.type).toBe('AverageValue');
    expect(Number(pods?.target.averageValue)).toBeGreaterThan(0);
  });
});

describe('kubectl kustomize: migration Job', () => {
  it('runs the migrator with DATABASE_URL from the Secret', () => {
    const job = find(built.production!, 'Job', 'concord-migrate');
    const c = podSpec(job)?.containers?.[0] as ContainerLike & { command: string[]; env: EnvVar[] };
    expect(c.command).toEqual(['node', 'libs/db/dist/migrate-cli.js']);
    expect(c.env.find((v) => v.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'concord-secrets',
      key: 'DATABASE_URL',
    });
  });
});

describe('NetworkPolicies, as connections (production)', () => {
  const manifests = built.production ?? [];
  const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
  const concordNs = { 'kubernetes.io/metadata.name': 'concord' };
  const podOf = (w: Manifest): PodView => ({
    name: w.metadata.name,
    namespace: 'concord',
    namespaceLabels: concordNs,
    labels: (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
      .labels,
    ports: Object.assign({}, ...containersOf(w).map(containerPorts)) as Record<string, number>,
  });
  const pods = Object.fromEntries(workloads(manifests).map((w) => [w.metadata.name, podOf(w)]));
  const external = (
    name: string,
    namespace: string,
    labels: Record<string, string>,
    ports: Record<string, number> = {},
  ): PodView => ({
    name,
    namespace,
    namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
    labels,
    ports,
  });
  const prometheus = external('prometheus', 'monitoring', { 'app.kubernetes.io/name': 'prometheus' });
  const postgres = external(
    'postgres',
    'concord-data',
    { 'app.kubernetes.io/name': 'postgresql' },
    { pg: 5432 },
  );
  const redis = external('redis', 'concord-data', { 'app.kubernetes.io/name': 'redis' }, { redis: 6379 });
  /** A compromised pod in the namespace that copies a service's labels but is not one of its pods. */
  const impostor = external('impostor', 'concord', { 'app.kubernetes.io/component': 'service' });
  const sources = [...Object.values(pods), prometheus, impostor, external('other', 'default', {})];
  const portsOf = (p: PodView) => Object.entries(p.ports);
  /** `from -> to:portName` for every port of `to` that `from` may reach. */
  const reachable = (from: PodView, to: PodView) =>
    portsOf(to)
      .filter(([, port]) => allowed(policies, from, to, port))
      .map(([name]) => name)
      .sort();

  it('a sibling service’s pod reaches auth-service only on its internal (JWKS) port, never its API', () => {
    for (const sibling of ['settings-service', 'realtime-service']) {
      expect([sibling, reachable(pods[sibling]!, pods['auth-service']!)]).toEqual([sibling, ['internal']]);
    }
  });

  it('no pod but the gateway reaches any service’s http port (where X-Forwarded-For is trusted)', () => {
    for (const s of SERVICES) {
      const admitted = sources
        .filter((p) => allowed(policies, p, pods[s.name]!, s.ports.http))
        .map((p) => p.name);
      expect([s.name, admitted]).toEqual([s.name, ['gateway']]);
    }
  });

  it('the gateway reaches each service’s http port and nothing else of theirs', () => {
    for (const s of SERVICES)
      expect([s.name, reachable(pods.gateway!, pods[s.name]!)]).toEqual([s.name, ['http']]);
  });

  it('Prometheus reaches the metrics ports only', () => {
    for (const s of SERVICES)
      expect([s.name, reachable(prometheus, pods[s.name]!)]).toEqual([s.name, ['metrics']]);
  });

  it('every service reaches Postgres and Redis; the JWKS consumers reach auth’s internal port; nothing else', () => {
    for (const s of SERVICES) {
      const from = pods[s.name]!;
      expect([s.name, reachable(from, postgres), reachable(from, redis)]).toEqual([
        s.name,
        ['pg'],
        ['redis'],
      ]);
      const others = SERVICES.filter((x) => x.name !== s.name).flatMap((x) =>
        reachable(from, pods[x.name]!).map((port) => `${x.name}:${port}`),
      );
      expect([s.name, others]).toEqual([s.name, s.jwks === 'consumer' ? ['auth-service:internal'] : []]);
    }
  });

  it('the migration Job reaches Postgres only', () => {
    const job = pods['concord-migrate']!;
    expect([reachable(job, postgres), reachable(job, redis), reachable(job, pods['auth-service']!)]).toEqual([
      ['pg'],
      [],
      [],
    ]);
  });
});

describe('kubectl kustomize: the nginx gateway', () => {
  it.each(['local', 'production'])(
    '%s: nginx.conf routes to every service’s Service at its http port',
    (name) => {
      const ms = built[name] ?? [];
      const conf =
        (find(ms, 'ConfigMap', 'gateway-nginx').data as Record<string, string>)['nginx.conf'] ?? '';
      // nginx re-resolves every upstream name through the cluster DNS (`resolve`, nginx >= 1.27.3).
      expect(conf).toMatch(/^ {2}resolver kube-dns\.kube-system\.svc\.cluster\.local valid=\d+s/m);
      const image = String(podSpec(find(ms, 'Deployment', 'gateway'))?.containers?.[0]?.image);
      const [major, minor] = (/^nginx:(\d+)\.(\d+)/.exec(image) ?? []).slice(1).map(Number);
      expect(major! * 1000 + minor!).toBeGreaterThanOrEqual(1027);
      for (const s of SERVICES) {
        const upstream = new RegExp(`upstream concord_${s.upstream} \\{([^}]*)\\}`).exec(conf)?.[1] ?? '';
        const servers = [...upstream.matchAll(/server ([^ ;]+) resolve /g)].map((m) => m[1]);
        // Affinity needs nginx to see the pods: a headless Service selecting exactly the Deployment's pods.
        const sticky = s.gateway.affinity === 'client-address';
        const target = find(ms, 'Service', sticky ? `${s.name}-pods` : s.name);
        const spec = target.spec as {
          clusterIP?: string;
          selector: Record<string, string>;
          ports: Array<{ name: string; port: number }>;
        };
        const fqdn = `${target.metadata.name}.${target.metadata.namespace}.svc.cluster.local`;
        expect(servers).toEqual([`${fqdn}:${spec.ports.find((p) => p.name === 'http')?.port}`]);
        expect(spec.clusterIP === 'None').toBe(sticky);
        expect(upstream.includes('hash $remote_addr consistent;')).toBe(sticky);
        const podLabels = (
          find(ms, 'Deployment', s.name).spec as { template: { metadata: { labels: object } } }
        ).template.metadata.labels;
        expect(podLabels).toMatchObject(spec.selector);
      }
      expect(conf.includes('proxy_hide_header X-Concord-Replica;')).toBe(name !== 'local');

      const c = podSpec(find(ms, 'Deployment', 'gateway'))?.containers?.[0] as ContainerLike & {
        command: string[];
        volumeMounts: Array<{ name: string; mountPath: string }>;
      };
      const listens = [...conf.matchAll(/listen [\d.]+:(\d+)/g)].map((m) => Number(m[1]));
      expect(Object.values(containerPorts(c)).sort()).toEqual(listens.sort());
      expect(c.command.join(' ')).toContain(`nginx -c ${CONTAINER_CONF_DIR}/nginx.conf`);
      expect(Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m.name]))).toEqual({
        [CONTAINER_CONF_DIR]: 'conf',
        [CONTAINER_TLS_DIR]: 'tls',
        [CONTAINER_RUN_DIR]: 'run',
      });
      const lb = find(ms, 'Service', 'gateway').spec as { type: string; externalTrafficPolicy: string };
      expect([lb.type, lb.externalTrafficPolicy]).toEqual(['LoadBalancer', 'Local']);
    },
  );

  it('the gateway-api component replaces the nginx gateway with HTTPRoutes covering every route', () => {
    const ms = built['production + gateway-api'] ?? [];
    expect(ms.filter((m) => m.metadata.name === 'gateway' || m.metadata.name === 'gateway-nginx')).toEqual(
      [],
    );
    type Rule = {
      matches?: Array<{ path: { type: string; value: string } }>;
      backendRefs?: Array<{ name: string; port: number }>;
    };
    const rules = ms
      .filter((m) => m.kind === 'HTTPRoute')
      .flatMap((r) => (r.spec as { rules: Rule[] }).rules);
    for (const s of SERVICES) {
      for (const route of s.gateway.routes) {
        const bare = route.path.replace(/\/$/, '');
        const covering = rules.find((rule) =>
          (rule.matches ?? []).some(
            (m) =>
              (route.match === 'exact' && m.path.type === 'Exact' && m.path.value === route.path) ||
              (m.path.type === 'PathPrefix' &&
                (m.path.value === bare || route.path.startsWith(`${m.path.value}/`))),
          ),
        );
        expect([route.path, covering?.backendRefs]).toEqual([
          route.path,
          [{ name: s.name, port: s.ports.http }],
        ]);
      }
    }
    const paths = rules.flatMap((r) => (r.matches ?? []).map((m) => m.path.value));
    expect(paths.filter((p) => p.startsWith('/metrics') || p === '/')).toEqual([]);
  });
});
