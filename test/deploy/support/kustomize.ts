// A small offline kustomize: exactly the features k8s/ uses, in kustomize's order, and an error for
// anything else (so a new feature in k8s/ cannot be silently ignored here). It does not append the
// generators' content hashes to ConfigMap names; compareWithKubectl() accounts for that when a real
// `kubectl kustomize` is available to check this resolver against.
//
// Order per kustomization (sigs.k8s.io/kustomize api/internal/target/kusttarget.go): resources,
// components, generators, then transformers: patches, namespace, replicas, images.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as YAML gives it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  components?: string[];
  configMapGenerator?: ConfigMapGenerator[];
  patches?: Patch[];
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  replicas?: Array<{ name: string; count: number }>;
}

interface ConfigMapGenerator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  literals?: string[];
  files?: string[];
}

interface Patch {
  path?: string;
  patch?: string;
  target?: { kind?: string; name?: string };
}

const KNOWN_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'components',
  'configMapGenerator',
  'patches',
  'images',
  'replicas',
]);

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);
const SCALABLE = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

/**
 * Parses YAML the way Kubernetes tooling does: YAML 1.1 (so `0440` is octal and `no` a boolean),
 * every document of a multi-document file, empty documents skipped.
 */
export function parseManifests(text: string, source: string): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Builds the kustomization in `dir` (a directory holding kustomization.yaml). */
export function buildKustomization(dir: string): Manifest[] {
  return accumulate(dir, [], 'Kustomization');
}

/**
 * Builds an in-memory kustomization, for combinations nobody keeps on disk (an overlay plus an
 * optional component). Paths are relative to `baseDir`.
 */
export function buildVirtual(
  baseDir: string,
  k: { namespace?: string; resources?: string[]; components?: string[] },
): Manifest[] {
  return run(baseDir, { ...k }, []);
}

/**
 * `kubectl kustomize` of an in-memory kustomization (see {@link buildVirtual}): written to a
 * temporary directory with paths made relative to it.
 */
export function kubectlKustomizeVirtual(
  kubectl: string,
  baseDir: string,
  k: { namespace?: string; resources?: string[]; components?: string[] },
): Manifest[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-kustomize-'));
  try {
    const rel = (entries?: string[]) => entries?.map((e) => path.relative(dir, path.join(baseDir, e)));
    const doc = { ...k, resources: rel(k.resources), components: rel(k.components) };
    writeFileSync(path.join(dir, 'kustomization.yaml'), JSON.stringify(doc));
    return kubectlKustomize(kubectl, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function accumulate(dir: string, into: Manifest[], expectedKind: 'Kustomization' | 'Component'): Manifest[] {
  const file = path.join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const [doc] = parseManifests(readFileSync(file, 'utf8'), file) as Kustomization[];
  if (!doc) throw new Error(`${file} is empty`);
  const kind = doc.kind ?? 'Kustomization';
  if (kind !== expectedKind) throw new Error(`${file}: expected kind ${expectedKind}, found ${kind}`);
  for (const key of Object.keys(doc)) {
    if (!KNOWN_FIELDS.has(key)) throw new Error(`${file}: the offline resolver does not implement "${key}"`);
  }
  return run(dir, doc, into);
}

function run(dir: string, k: Kustomization, into: Manifest[]): Manifest[] {
  // A kustomization builds its resources in a fresh map; a component works on its parent's map.
  let resources = into;
  for (const entry of k.resources ?? []) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) {
      for (const m of accumulate(p, [], 'Kustomization')) add(resources, m, p);
    } else {
      for (const m of parseManifests(readFileSync(p, 'utf8'), p)) add(resources, asManifest(m, p), p);
    }
  }
  for (const entry of k.components ?? []) {
    resources = accumulate(path.join(dir, entry), resources, 'Component');
  }
  for (const g of k.configMapGenerator ?? []) generateConfigMap(dir, g, resources);
  for (const p of k.patches ?? []) resources = applyPatch(dir, p, resources);
  if (k.namespace) {
    for (const m of resources) {
      if (!CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = k.namespace;
      // kustomize's namespace transformer renames Namespace objects to the namespace it sets.
      else if (m.kind === 'Namespace') m.metadata.name = k.namespace;
    }
  }
  for (const r of k.replicas ?? []) {
    const target = resources.find((m) => SCALABLE.has(m.kind) && m.metadata.name === r.name);
    if (!target) throw new Error(`replicas: no Deployment-like resource named ${r.name}`);
    (target.spec as Record<string, unknown>).replicas = r.count;
  }
  for (const image of k.images ?? []) for (const m of resources) setImages(m, image);
  return resources;
}

function asManifest(value: unknown, source: string): Manifest {
  const m = value as Partial<Manifest>;
  if (
    typeof m?.apiVersion !== 'string' ||
    typeof m.kind !== 'string' ||
    typeof m.metadata?.name !== 'string'
  ) {
    throw new Error(`${source}: a resource needs apiVersion, kind and metadata.name`);
  }
  return structuredClone(m as Manifest);
}

function key(m: Pick<Manifest, 'kind' | 'metadata'>): string {
  return `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
}

function add(list: Manifest[], m: Manifest, source: string): void {
  if (list.some((x) => key(x) === key(m))) throw new Error(`${source}: duplicate resource ${key(m)}`);
  list.push(m);
}

function generateConfigMap(dir: string, g: ConfigMapGenerator, resources: Manifest[]): void {
  const data: Record<string, string> = {};
  for (const envFile of g.envs ?? []) {
    for (const line of readFileSync(path.join(dir, envFile), 'utf8').split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const i = trimmed.indexOf('=');
      if (i <= 0) throw new Error(`${envFile}: not KEY=VALUE: ${line}`);
      data[trimmed.slice(0, i)] = trimmed.slice(i + 1);
    }
  }
  for (const literal of g.literals ?? []) {
    const i = literal.indexOf('=');
    if (i <= 0) throw new Error(`configMapGenerator ${g.name}: not KEY=VALUE: ${literal}`);
    data[literal.slice(0, i)] = literal.slice(i + 1);
  }
  for (const f of g.files ?? []) {
    const [name, rel] = f.includes('=') ? (f.split('=', 2) as [string, string]) : [path.basename(f), f];
    data[name] = readFileSync(path.join(dir, rel), 'utf8');
  }
  const existing = resources.find((m) => m.kind === 'ConfigMap' && m.metadata.name === g.name);
  const behavior = g.behavior ?? 'create';
  if (behavior === 'create') {
    if (existing)
      throw new Error(`configMapGenerator ${g.name}: already exists (use behavior merge/replace)`);
    resources.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data });
    return;
  }
  if (!existing) throw new Error(`configMapGenerator ${g.name}: behavior ${behavior} but no such ConfigMap`);
  existing.data = behavior === 'merge' ? { ...(existing.data as Record<string, string>), ...data } : data;
}

function applyPatch(dir: string, p: Patch, resources: Manifest[]): Manifest[] {
  const text = p.patch ?? (p.path ? readFileSync(path.join(dir, p.path), 'utf8') : undefined);
  if (text === undefined) throw new Error('a patch needs `patch` or `path`');
  const docs = parseManifests(text, p.path ?? 'inline patch');
  const [first] = docs;
  if (Array.isArray(first)) {
    if (!p.target?.kind || !p.target.name)
      throw new Error('JSON 6902 patches need target.kind and target.name');
    const { kind, name } = p.target;
    // A selector that matches nothing is not an error in kustomize either.
    for (const m of resources) {
      if (m.kind === kind && m.metadata.name === name) applyJsonPatch(m, first as JsonPatchOp[]);
    }
    return resources;
  }
  let out = resources;
  for (const doc of docs) {
    const smp = doc as Record<string, unknown> & Manifest;
    const rest = Object.keys(smp).filter((k) => !['apiVersion', 'kind', 'metadata', '$patch'].includes(k));
    if (smp.$patch !== 'delete' || rest.length > 0) {
      throw new Error('strategic-merge patches: the offline resolver implements only `$patch: delete`');
    }
    const before = out.length;
    out = out.filter((m) => !(m.kind === smp.kind && m.metadata.name === smp.metadata.name));
    if (out.length === before) throw new Error(`$patch: delete: no ${smp.kind} named ${smp.metadata.name}`);
  }
  return out;
}

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/** RFC 6902 add/replace/remove/test on `doc`; throws when a path does not exist. */
export function applyJsonPatch(doc: unknown, ops: JsonPatchOp[]): void {
  for (const op of ops) {
    const tokens = op.path
      .split('/')
      .slice(1)
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop();
    if (last === undefined) throw new Error(`JSON patch: cannot ${op.op} the document root`);
    let parent: unknown = doc;
    for (const t of tokens) {
      parent = (parent as Record<string, unknown>)?.[t];
      if (parent === undefined || parent === null) throw new Error(`JSON patch: ${op.path} does not exist`);
    }
    const container = parent as Record<string, unknown> | unknown[];
    if (Array.isArray(container)) {
      const index = last === '-' ? container.length : Number(last);
      const exists = Number.isInteger(index) && index >= 0 && index < container.length;
      if (op.op === 'add' && index <= container.length) container.splice(index, 0, op.value);
      else if (!exists) throw new Error(`JSON patch: ${op.path} does not exist`);
      else if (op.op === 'replace') container[index] = op.value;
      else if (op.op === 'remove') container.splice(index, 1);
      else if (op.op === 'test' && JSON.stringify(container[index]) !== JSON.stringify(op.value)) {
        throw new Error(`JSON patch: test failed at ${op.path}`);
      }
      continue;
    }
    if (op.op !== 'add' && !(last in container)) throw new Error(`JSON patch: ${op.path} does not exist`);
    if (op.op === 'add' || op.op === 'replace') container[last] = op.value;
    else if (op.op === 'remove') delete container[last];
    else if (JSON.stringify(container[last]) !== JSON.stringify(op.value)) {
      throw new Error(`JSON patch: test failed at ${op.path}`);
    }
  }
}

function setImages(m: Manifest, image: { name: string; newName?: string; newTag?: string; digest?: string }) {
  const spec = podSpec(m);
  if (!spec) return;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const match = /^(.+?)(?::([^:/@]+))?(?:@(.+))?$/.exec(c.image ?? '');
    if (!match || match[1] !== image.name) continue;
    const name = image.newName ?? match[1];
    const tag = image.newTag ?? match[2];
    if (image.digest) c.image = `${name}@${image.digest}`;
    else c.image = tag ? `${name}:${tag}` : name;
  }
}

/** A container of a pod template, loosely typed. */
export interface ContainerLike {
  name: string;
  image?: string;
  [key: string]: unknown;
}

/** The pod spec of a workload (Deployment, Job, ...) or undefined. */
export function podSpec(
  m: Manifest,
): { containers?: ContainerLike[]; initContainers?: ContainerLike[]; [key: string]: unknown } | undefined {
  const spec = m.spec as { template?: { spec?: Record<string, unknown> } } | undefined;
  return spec?.template?.spec as ReturnType<typeof podSpec>;
}

/** `kubectl` on PATH with a kustomize that has components (v4+), or undefined. */
export function findKubectl(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'kubectl');
    if (!dir || !existsSync(candidate)) continue;
    try {
      const out = execFileSync(candidate, ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
      const m = /Kustomize Version: v(\d+)/.exec(out);
      if (m && Number(m[1]) >= 4) return candidate;
    } catch {
      // Not usable; try the next one.
    }
  }
  return undefined;
}

/** `kubectl kustomize dir`, parsed. */
export function kubectlKustomize(kubectl: string, dir: string): Manifest[] {
  const out = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseManifests(out, `kubectl kustomize ${dir}`) as Manifest[];
}

/**
 * kubectl's output with the generators' hash suffixes removed (from names and every reference), so it
 * can be compared with {@link buildKustomization}'s. Both are sorted by kind/namespace/name.
 */
export function normalizeForComparison(manifests: Manifest[], generated: string[]): Manifest[] {
  const renames = new Map<string, string>();
  for (const m of manifests) {
    const hashed = /^(.+)-[a-z0-9]{10}$/.exec(m.metadata.name);
    if (m.kind === 'ConfigMap' && hashed?.[1] && generated.includes(hashed[1])) {
      renames.set(m.metadata.name, hashed[1]);
    }
  }
  const rename = (v: unknown): unknown => {
    if (typeof v === 'string') return renames.get(v) ?? v;
    if (Array.isArray(v)) return v.map(rename);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x)]));
    }
    return v;
  };
  return (rename(manifests) as Manifest[]).sort((a, b) => key(a).localeCompare(key(b)));
}

/** Sorts a build by kind/namespace/name. */
export function sortManifests(manifests: Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => key(a).localeCompare(key(b)));
}
