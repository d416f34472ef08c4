// k8s/: every manifest parses and validates against the Kubernetes schemas (offline, always), every
// kustomization builds with the offline resolver (checked against `kubectl kustomize` where kubectl is
// installed), and the built objects keep the deployment contract of DESIGN.md sections 7 and 8.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { ROUTES } from '../../proxy/nginx';
import { readConfig } from '../../services/auth-service/src/config';
import {
  CONTAINER_CONF_DIR,
  CONTAINER_RUN_DIR,
  CONTAINER_TLS_DIR,
  K8S_TARGETS,
  renderK8sGatewayConfigs,
} from '../../k8s/render-gateway-config';
import { ROOT } from './support/compose-file';
import { schemaProblem, unknownFieldProblems } from './support/k8s-schema';
import {
  buildKustomization,
  buildVirtual,
  findKubectl,
  kubectlKustomize,
  kubectlKustomizeVirtual,
  normalizeForComparison,
  parseManifests,
  podSpec,
  sortManifests,
  type ContainerLike,
  type Manifest,
} from './support/kustomize';

const K8S = path.join(ROOT, 'k8s');

/** The production overlay with its commented-out `components: [../../gateway-api]` line enabled. */
const PRODUCTION_WITH_GATEWAY_API = {
  namespace: 'concord',
  resources: ['overlays/production'],
  components: ['gateway-api'],
};

/** Builds under test: the two overlays, and production with the Gateway API component added. */
const BUILDS: Record<string, () => Manifest[]> = {
  local: () => buildKustomization(path.join(K8S, 'overlays/local')),
  production: () => buildKustomization(path.join(K8S, 'overlays/production')),
  'production + gateway-api': () => buildVirtual(K8S, PRODUCTION_WITH_GATEWAY_API),
};
const built = Object.fromEntries(Object.entries(BUILDS).map(([name, build]) => [name, build()]));
const BUILD_NAMES = Object.keys(BUILDS);
const GENERATED_CONFIGMAPS = ['concord-config', 'gateway-nginx'];

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

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

/**
 * The environment a container would see, with Secret values from SECRET_VALUES and field references
 * from `pod`, the way the kubelet assembles it (envFrom first, then env).
 */
function containerEnv(
  manifests: Manifest[],
  c: ContainerLike,
  pod: { name: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of (c.envFrom ?? []) as Array<{ configMapRef?: { name: string } }>) {
    if (!source.configMapRef) throw new Error('only configMapRef envFrom is expected');
    Object.assign(env, find(manifests, 'ConfigMap', source.configMapRef.name).data as Record<string, string>);
  }
  for (const v of (c.env ?? []) as EnvVar[]) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[v.name] = pod.name;
    else if (v.valueFrom?.secretKeyRef) {
      const { name, key } = v.valueFrom.secretKeyRef;
      const value = SECRET_VALUES[name]?.[key];
      if (value === undefined) throw new Error(`no test value for Secret ${name} key ${key}`);
      env[v.name] = value;
    } else throw new Error(`unexpected env source for ${v.name}`);
  }
  return env;
}

describe('k8s manifests', () => {
  const files = yamlFiles(K8S);

  it('every YAML file under k8s/ parses', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(() => parseManifests(readFileSync(f, 'utf8'), f)).not.toThrow();
  });

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
    expect(count).toBeGreaterThan(15);
    expect(problems).toEqual([]);
  });

  it('the Secret template holds every Secret and key that the workloads reference', () => {
    const template = parseManifests(
      readFileSync(path.join(K8S, 'base/secrets.template.yaml'), 'utf8'),
      'secrets.template.yaml',
    ) as Manifest[];
    const keys = new Map(
      template.map((s) => [s.metadata.name, Object.keys((s.stringData ?? {}) as Record<string, string>)]),
    );
    for (const name of BUILD_NAMES) {
      const manifests = built[name] ?? [];
      // The kustomizations never carry Secrets: applying them cannot reset real ones.
      expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
      for (const w of workloads(manifests)) {
        for (const c of containersOf(w)) {
          for (const v of (c.env ?? []) as EnvVar[]) {
            const ref = v.valueFrom?.secretKeyRef;
            if (ref) expect(keys.get(ref.name)).toContain(ref.key);
          }
        }
        for (const vol of (podSpec(w)?.volumes ?? []) as Array<{
          secret?: { secretName: string; items?: Array<{ key: string }> };
        }>) {
          if (!vol.secret) continue;
          expect(keys.has(vol.secret.secretName)).toBe(true);
          for (const item of vol.secret.items ?? [])
            expect(keys.get(vol.secret.secretName)).toContain(item.key);
        }
      }
      for (const gw of manifests.filter((m) => m.kind === 'Gateway')) {
        const listeners = (
          gw.spec as { listeners: Array<{ tls?: { certificateRefs: Array<{ name: string }> } }> }
        ).listeners;
        for (const l of listeners)
          for (const ref of l.tls?.certificateRefs ?? []) expect(keys.has(ref.name)).toBe(true);
      }
    }
  });

  it('the Secret template only holds placeholders', () => {
    const text = readFileSync(path.join(K8S, 'base/secrets.template.yaml'), 'utf8');
    for (const s of parseManifests(text, 'secrets.template.yaml') as Manifest[]) {
      for (const value of Object.values((s.stringData ?? {}) as Record<string, string>)) {
        expect(value).toBe('PLACEHOLDER');
      }
    }
  });
});

describe.each(BUILD_NAMES)('kustomize build: %s', (name) => {
  const manifests = built[name] ?? [];

  it('every object validates against the Kubernetes schemas', () => {
    const problems = manifests.flatMap((m) => {
      const p = schemaProblem(m);
      return p ? [`${m.kind}/${m.metadata.name}: ${p}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('no object has a field that its Kubernetes type does not define', () => {
    const items = manifests.map((m) => ({ label: `${m.kind}/${m.metadata.name}`, manifest: m }));
    expect(unknownFieldProblems(items)).toEqual([]);
  });

  it('every namespaced object lands in the concord namespace', () => {
    for (const m of manifests.filter((x) => x.kind !== 'Namespace'))
      expect(m.metadata.namespace).toBe('concord');
    expect(
      find(manifests, 'Namespace', 'concord').metadata.labels?.['pod-security.kubernetes.io/enforce'],
    ).toBe('restricted');
  });

  it('every container runs as non-root with a read-only root filesystem and no capabilities', () => {
    const wl = workloads(manifests);
    expect(wl.length).toBeGreaterThanOrEqual(2);
    for (const w of wl) {
      const spec = podSpec(w) ?? {};
      const pod = (spec.securityContext ?? {}) as {
        runAsNonRoot?: boolean;
        runAsUser?: number;
        seccompProfile?: { type: string };
      };
      expect(pod.runAsNonRoot).toBe(true);
      expect(pod.runAsUser).toBeGreaterThan(0);
      expect(pod.seccompProfile?.type).toBe('RuntimeDefault');
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of containersOf(w)) {
        const sc = (c.securityContext ?? {}) as {
          runAsUser?: number;
          readOnlyRootFilesystem?: boolean;
          allowPrivilegeEscalation?: boolean;
          privileged?: boolean;
          capabilities?: { drop?: string[]; add?: string[] };
        };
        const where = `${w.kind}/${w.metadata.name} ${c.name}`;
        expect([where, sc.readOnlyRootFilesystem]).toEqual([where, true]);
        expect([where, sc.allowPrivilegeEscalation]).toEqual([where, false]);
        expect([where, sc.capabilities?.drop]).toEqual([where, ['ALL']]);
        expect([where, sc.capabilities?.add ?? []]).toEqual([where, []]);
        expect(sc.privileged).not.toBe(true);
        expect(sc.runAsUser ?? pod.runAsUser).not.toBe(0);
        const res = c.resources as
          { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
        expect([where, Boolean(res?.requests?.cpu && res.requests.memory && res.limits?.memory)]).toEqual([
          where,
          true,
        ]);
      }
    }
  });

  it('the Concord images are set by the overlay, nginx is pinned', () => {
    for (const c of workloads(manifests).flatMap(containersOf)) {
      expect(c.image).toMatch(
        /^(concord:local|registry\.example\.com\/concord:[\w.]+|nginx:1\.\d+(\.\d+)?)$/,
      );
    }
  });

  it('a default-deny NetworkPolicy covers every pod, both directions', () => {
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
    const denyAll = policies.find((p) => {
      const spec = p.spec as {
        podSelector: object;
        policyTypes: string[];
        ingress?: unknown;
        egress?: unknown;
      };
      return (
        Object.keys(spec.podSelector).length === 0 &&
        spec.policyTypes.includes('Ingress') &&
        spec.policyTypes.includes('Egress') &&
        spec.ingress === undefined &&
        spec.egress === undefined
      );
    });
    expect(denyAll).toBeDefined();
  });
});

describe('kustomize: auth-service', () => {
  it.each(BUILD_NAMES)(
    '%s: probes are /healthz (liveness, startup) and /readyz (readiness) on the http port',
    (name) => {
      const c = podSpec(find(built[name] ?? [], 'Deployment', 'auth-service'))
        ?.containers?.[0] as ContainerLike & {
        readinessProbe: { httpGet: { path: string; port: string } };
        livenessProbe: { httpGet: { path: string; port: string } };
        startupProbe: { httpGet: { path: string; port: string } };
        ports: Array<{ name: string; containerPort: number }>;
      };
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.ports).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'http' }),
          expect.objectContaining({ name: 'metrics' }),
        ]),
      );
    },
  );

  it.each(BUILD_NAMES)(
    '%s: the container environment parses with auth-service’s own config schema, with canonical names only',
    (name) => {
      const manifests = built[name] ?? [];
      const d = find(manifests, 'Deployment', 'auth-service');
      const c = podSpec(d)?.containers?.find((x) => x.name === 'auth-service');
      if (!c) throw new Error('no auth-service container');
      const env = containerEnv(manifests, c, { name: 'auth-service-6d5f7c9b8-x2x7q' });
      const config = readConfig(env) as Record<string, unknown>;
      const known = new Set(Object.keys(config));
      expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);

      const ports = c.ports as Array<{ name: string; containerPort: number }>;
      expect(config.PORT).toBe(ports.find((p) => p.name === 'http')?.containerPort);
      expect(config.METRICS_PORT).toBe(ports.find((p) => p.name === 'metrics')?.containerPort);
      expect(config.HOST).toBe('0.0.0.0');
      expect(config.REPLICA_ID).toBe('auth-service-6d5f7c9b8-x2x7q');
      expect(env.TRUSTED_PROXIES).not.toMatch(/\/0(\s*,|\s*$)/);
      expect(config.TRUSTED_PROXIES).not.toEqual([]);
      expect(config.EXPOSE_REPLICA_HEADER).toBe(name === 'local');
    },
  );

  it.each(BUILD_NAMES)(
    '%s: JWKS_URL is auth-service’s internal listener, through the Service’s `internal` port',
    (name) => {
      const manifests = built[name] ?? [];
      const jwks = new URL(
        (find(manifests, 'ConfigMap', 'concord-config').data as Record<string, string>).JWKS_URL ?? '',
      );
      const svc = find(manifests, 'Service', 'auth-service').spec as {
        ports: Array<{ name: string; port: number; targetPort: string }>;
      };
      const c = podSpec(find(manifests, 'Deployment', 'auth-service'))?.containers?.find(
        (x) => x.name === 'auth-service',
      );
      if (!c) throw new Error('no auth-service container');
      const config = readConfig(containerEnv(manifests, c, { name: 'auth-service-0' }));
      const internal = svc.ports.find((p) => p.name === 'internal');
      const containerPort = (c.ports as Array<{ name: string; containerPort: number }>).find(
        (p) => p.name === internal?.targetPort,
      )?.containerPort;

      expect(jwks.hostname).toBe('auth-service');
      expect(jwks.pathname).toBe('/.well-known/jwks.json');
      expect(Number(jwks.port)).toBe(internal?.port);
      expect(containerPort).toBe(config.INTERNAL_PORT);
      expect(config.INTERNAL_PORT).not.toBe(config.PORT);
    },
  );

  it('the production overlay turns the replica header off and runs more replicas than base', () => {
    const prod = built.production ?? [];
    const local = built.local ?? [];
    expect(find(prod, 'ConfigMap', 'concord-config').data).toMatchObject({ EXPOSE_REPLICA_HEADER: 'false' });
    expect(find(local, 'ConfigMap', 'concord-config').data).toMatchObject({ EXPOSE_REPLICA_HEADER: 'true' });
    const replicas = (ms: Manifest[]) =>
      (find(ms, 'Deployment', 'auth-service').spec as { replicas: number }).replicas;
    const hpa = (ms: Manifest[]) =>
      find(ms, 'HorizontalPodAutoscaler', 'auth-service').spec as { minReplicas: number };
    expect(replicas(local)).toBe(2);
    expect(replicas(prod)).toBeGreaterThan(2);
    expect(hpa(prod).minReplicas).toBeGreaterThan(hpa(local).minReplicas);
    expect(hpa(local).minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('the signing keys reach the service as an owner-only copy of the Secret', () => {
    const d = find(built.production ?? [], 'Deployment', 'auth-service');
    const spec = podSpec(d) ?? {};
    const sync = spec.initContainers?.find((c) => c.name === 'keys-sync') as
      | (ContainerLike & {
          restartPolicy?: string;
          volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
        })
      | undefined;
    const app = spec.containers?.find((c) => c.name === 'auth-service') as ContainerLike & {
      env: EnvVar[];
      volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
    };
    expect(sync?.restartPolicy).toBe('Always');
    const keysFile = app.env.find((v) => v.name === 'JWT_KEYS_FILE')?.value ?? '';
    const mount = app.volumeMounts.find((m) => keysFile.startsWith(`${m.mountPath}/`));
    expect(mount).toMatchObject({ name: 'jwt-keys', readOnly: true });
    expect(sync?.volumeMounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'jwt-keys', mountPath: mount?.mountPath })]),
    );
    expect(JSON.stringify(sync?.command)).toContain('install -m 0600');
    const volumes = spec.volumes as Array<{
      name: string;
      secret?: { defaultMode: number };
      emptyDir?: { medium?: string };
    }>;
    expect(volumes.find((v) => v.name === 'jwt-keys')?.emptyDir?.medium).toBe('Memory');
    // Never readable by "others", whatever the group arrangement.
    expect((volumes.find((v) => v.name === 'jwt-keys-secret')?.secret?.defaultMode ?? 0o777) & 0o007).toBe(0);
  });

  it('Service, PDB and HPA select and target the Deployment', () => {
    const ms = built.production ?? [];
    const d = find(ms, 'Deployment', 'auth-service');
    const podLabels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template
      .metadata.labels;
    const svc = find(ms, 'Service', 'auth-service').spec as {
      selector: Record<string, string>;
      ports: Array<{ port: number; targetPort: string }>;
    };
    expect(podLabels).toMatchObject(svc.selector);
    const containerPorts = (podSpec(d)?.containers?.[0]?.ports ?? []) as Array<{
      name: string;
      containerPort: number;
    }>;
    for (const p of svc.ports) {
      expect(containerPorts.find((c) => c.name === p.targetPort)?.containerPort).toBe(p.port);
    }
    const pdb = find(ms, 'PodDisruptionBudget', 'auth-service').spec as { selector: { matchLabels: object } };
    expect(podLabels).toMatchObject(pdb.selector.matchLabels);
    const hpa = find(ms, 'HorizontalPodAutoscaler', 'auth-service').spec as {
      scaleTargetRef: { kind: string; name: string };
      metrics: Array<{ resource?: { name: string } }>;
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'auth-service' });
    expect(hpa.metrics.map((m) => m.resource?.name)).toContain('cpu');
  });
});

describe('kustomize: migration Job', () => {
  it('runs the migrator with DATABASE_URL from the Secret', () => {
    const job = find(built.production ?? [], 'Job', 'concord-migrate');
    const c = podSpec(job)?.containers?.[0] as ContainerLike & { command: string[]; env: EnvVar[] };
    expect(c.command).toEqual(['node', 'libs/db/dist/migrate-cli.js']);
    expect(c.env.find((v) => v.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'concord-secrets',
      key: 'DATABASE_URL',
    });
  });
});

describe('kustomize: NetworkPolicies', () => {
  const policies = (built.production ?? []).filter((m) => m.kind === 'NetworkPolicy');
  type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: object };
  type Rule = { from?: Peer[]; to?: Peer[]; ports?: Array<{ port: number | string }> };
  const rules = (selector: Record<string, string>, dir: 'ingress' | 'egress'): Rule[] =>
    policies
      .filter((p) => {
        const sel =
          (p.spec as { podSelector: { matchLabels?: Record<string, string> } }).podSelector.matchLabels ?? {};
        return Object.entries(sel).every(([k, v]) => selector[k] === v);
      })
      .flatMap((p) => ((p.spec as Record<string, Rule[] | undefined>)[dir] ?? []) as Rule[]);
  const auth = { 'app.kubernetes.io/name': 'auth-service', 'app.kubernetes.io/component': 'service' };
  const gateway = { 'app.kubernetes.io/name': 'gateway', 'app.kubernetes.io/component': 'gateway' };
  const ports = (rs: Rule[]) => rs.flatMap((r) => (r.ports ?? []).map((p) => p.port));

  it('the gateway may reach only the services’ http ports (and DNS)', () => {
    const egress = rules(gateway, 'egress');
    expect(ports(egress).sort()).toEqual([53, 53, 'http']);
    const toServices = egress.find((r) => r.ports?.some((p) => p.port === 'http'));
    expect(toServices?.to).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'service' } } },
    ]);
  });

  it('auth-service accepts its API from the gateway only, its JWKS port from Concord services, metrics from Prometheus only', () => {
    const ingress = rules(auth, 'ingress');
    const fromLabels = (port: string) =>
      ingress
        .filter((r) => r.ports?.some((p) => p.port === port))
        .flatMap((r) => (r.from ?? []).map((f) => f.podSelector?.matchLabels));
    expect(fromLabels('http')).toEqual([{ 'app.kubernetes.io/component': 'gateway' }]);
    expect(fromLabels('internal')).toEqual([{ 'app.kubernetes.io/component': 'service' }]);
    for (const r of ingress) expect(r.from?.length ?? 0).toBeGreaterThan(0);
    const metrics = ingress.filter((r) => r.ports?.some((p) => p.port === 'metrics'));
    expect(metrics).toHaveLength(1);
    expect(metrics[0]?.from?.[0]?.namespaceSelector).toBeDefined();
  });

  /** Ports of `rs` whose `from` admits a pod of this namespace with `labels`. */
  const portsAdmitting = (rs: Rule[], labels: Record<string, string>) =>
    ports(
      rs.filter((r) =>
        (r.from ?? []).some(
          (peer) =>
            peer.namespaceSelector === undefined &&
            Object.entries(peer.podSelector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
        ),
      ),
    );
  const sibling = { 'app.kubernetes.io/name': 'settings-service', 'app.kubernetes.io/component': 'service' };

  it('a sibling service’s pods may reach auth-service only on its internal (JWKS) port', () => {
    expect(portsAdmitting(rules(auth, 'ingress'), sibling)).toEqual(['internal']);
  });

  it('the gateway reaches auth-service on its API port only', () => {
    expect(portsAdmitting(rules(auth, 'ingress'), gateway)).toEqual(['http']);
  });

  it('services may reach Postgres, Redis, auth’s JWKS and DNS, nothing else', () => {
    expect(ports(rules(auth, 'egress')).map(String).sort()).toEqual(['53', '53', '5432', '6379', 'internal']);
  });

  it('the migration Job may reach Postgres and DNS only', () => {
    expect(ports(rules({ 'app.kubernetes.io/component': 'migration' }, 'egress')).sort()).toEqual([
      53, 53, 5432,
    ]);
  });
});

describe('kustomize: the nginx gateway', () => {
  it('the committed ConfigMap sources are exactly what proxy/nginx.js renders', () => {
    const stale = renderK8sGatewayConfigs()
      .filter(({ file, content }) => readFileSync(path.join(ROOT, file), 'utf8') !== content)
      .map(({ file }) => file);
    if (stale.length > 0) {
      throw new Error(
        `${stale.join(', ')} differ from what proxy/nginx.js renders now; ` +
          'regenerate them with: node k8s/render-gateway-config.js k8s',
      );
    }
    expect(K8S_TARGETS.map((t) => t.exposeReplicaHeader)).toEqual([false, true]);
  });

  it.each(['local', 'production'])(
    '%s: nginx.conf routes to the auth Service and listens where the Service points',
    (name) => {
      const ms = built[name] ?? [];
      const conf =
        (find(ms, 'ConfigMap', 'gateway-nginx').data as Record<string, string>)['nginx.conf'] ?? '';
      const upstream = /upstream concord_auth \{([^}]*)\}/.exec(conf)?.[1] ?? '';
      const servers = [...upstream.matchAll(/server ([^ ;]+)/g)].map((m) => m[1]);
      const svc = find(ms, 'Service', 'auth-service').spec as {
        ports: Array<{ name: string; port: number }>;
      };
      expect(servers).toEqual([`auth-service:${svc.ports.find((p) => p.name === 'http')?.port}`]);
      // Replica header: passed through only in the local overlay.
      expect(conf.includes('proxy_hide_header X-Concord-Replica;')).toBe(name !== 'local');

      const d = find(ms, 'Deployment', 'gateway');
      const c = podSpec(d)?.containers?.[0] as ContainerLike & {
        command: string[];
        ports: Array<{ name: string; containerPort: number }>;
        volumeMounts: Array<{ name: string; mountPath: string }>;
      };
      const listens = [...conf.matchAll(/listen [\d.]+:(\d+)/g)].map((m) => Number(m[1]));
      expect(c.ports.map((p) => p.containerPort).sort()).toEqual(listens.sort());
      const lb = find(ms, 'Service', 'gateway').spec as {
        type: string;
        externalTrafficPolicy: string;
        ports: Array<{ port: number; targetPort: string }>;
      };
      expect(lb.type).toBe('LoadBalancer');
      expect(lb.externalTrafficPolicy).toBe('Local');
      for (const p of lb.ports)
        expect(p.port).toBe(c.ports.find((x) => x.name === p.targetPort)?.containerPort);
      // Probes need no service behind the gateway: a TCP check of the TLS listener.
      const probes = c as unknown as Record<string, { tcpSocket?: { port: string } }>;
      expect(probes.readinessProbe?.tcpSocket).toEqual({ port: 'https' });
      expect(probes.livenessProbe?.tcpSocket).toEqual({ port: 'https' });
      expect(c.command.join(' ')).toContain(`nginx -c ${CONTAINER_CONF_DIR}/nginx.conf`);
      const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m.name]));
      expect(mounts).toEqual({
        [CONTAINER_CONF_DIR]: 'conf',
        [CONTAINER_TLS_DIR]: 'tls',
        [CONTAINER_RUN_DIR]: 'run',
      });
      expect(conf).toContain(`ssl_certificate "${CONTAINER_TLS_DIR}/tls.crt";`);
      expect(conf).toContain(`pid "${CONTAINER_RUN_DIR}/nginx.pid";`);
    },
  );

  it('the gateway-api component replaces the nginx gateway with HTTPRoutes for every deployed route', () => {
    const ms = built['production + gateway-api'] ?? [];
    expect(ms.filter((m) => m.metadata.name === 'gateway' || m.metadata.name === 'gateway-nginx')).toEqual(
      [],
    );
    const routes = ms.filter((m) => m.kind === 'HTTPRoute');
    type Rule = {
      matches?: Array<{ path: { type: string; value: string } }>;
      backendRefs?: Array<{ name: string; port: number }>;
    };
    const rules = routes.flatMap((r) => (r.spec as { rules: Rule[] }).rules);
    const serviceOf: Record<string, string> = { auth: 'auth-service' };
    const deployed = new Set(ms.filter((m) => m.kind === 'Service').map((m) => m.metadata.name));
    for (const route of ROUTES) {
      const service = serviceOf[route.upstream];
      if (!service || !deployed.has(service)) continue;
      const bare = route.path.replace(/\/$/, '');
      const covering = rules.find((rule) =>
        (rule.matches ?? []).some(
          (m) =>
            (route.exact && m.path.type === 'Exact' && m.path.value === route.path) ||
            (m.path.type === 'PathPrefix' &&
              (m.path.value === bare || route.path.startsWith(`${m.path.value}/`))),
        ),
      );
      expect([route.path, covering?.backendRefs]).toEqual([route.path, [{ name: service, port: 4101 }]]);
    }
    const paths = rules.flatMap((r) => (r.matches ?? []).map((m) => m.path.value));
    expect(paths.filter((p) => p.startsWith('/metrics') || p === '/')).toEqual([]);
  });
});

const kubectl = findKubectl();

describe('kubectl kustomize (when kubectl is installed)', () => {
  if (!kubectl) {
    it.skip('kubectl with kustomize v4+ not found: the offline resolver above stands alone', () => {});
    return;
  }

  it.each(['local', 'production'])('%s: the offline resolver builds what kubectl builds', (name) => {
    const real = normalizeForComparison(
      kubectlKustomize(kubectl, path.join(K8S, 'overlays', name)),
      GENERATED_CONFIGMAPS,
    );
    expect(sortManifests(built[name] ?? [])).toEqual(real);
  });

  it('production + gateway-api: the offline resolver builds what kubectl builds', () => {
    const real = normalizeForComparison(
      kubectlKustomizeVirtual(kubectl, K8S, PRODUCTION_WITH_GATEWAY_API),
      GENERATED_CONFIGMAPS,
    );
    expect(sortManifests(built['production + gateway-api'] ?? [])).toEqual(real);
  });
});
