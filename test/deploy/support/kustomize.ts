// Kubernetes manifests as the real tools build them: `kubectl kustomize` (kubectl ships kustomize;
// .ci/setup.sh installs kubectl when it is missing). A missing or too old kubectl fails the suite:
// without it nothing here would be checked.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

let kubectlPath: string | undefined;

/** `kubectl` on PATH (or /usr/bin) whose kustomize has components (v4+); throws when there is none. */
export function kubectl(): string {
  if (kubectlPath) return kubectlPath;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/bin', '/usr/bin'];
  const tried: string[] = [];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'kubectl');
    if (!dir || !existsSync(candidate)) continue;
    const out = execFileSync(candidate, ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
    const m = /Kustomize Version: v(\d+)/.exec(out);
    if (m && Number(m[1]) >= 4) return (kubectlPath = candidate);
    tried.push(`${candidate} (${out.trim().split('\n').join('; ')})`);
  }
  throw new Error(
    `no kubectl with kustomize v4+ found (${tried.join(', ') || 'none on PATH'}); run bash .ci/setup.sh`,
  );
}

/** `kubectl kustomize dir`, parsed. */
export function kustomize(dir: string): Manifest[] {
  const out = execFileSync(kubectl(), ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseManifests(out, `kubectl kustomize ${dir}`) as Manifest[];
}

/**
 * `kubectl kustomize` of a kustomization nobody keeps on disk (an overlay plus a component), written
 * to a temporary directory with its paths made relative to it. Paths in `k` are relative to `baseDir`.
 */
export function kustomizeVirtual(
  baseDir: string,
  k: { namespace?: string; resources?: string[]; components?: string[] },
): Manifest[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'concord-kustomize-'));
  try {
    const rel = (entries?: string[]) => entries?.map((e) => path.relative(dir, path.join(baseDir, e)));
    const doc = { ...k, resources: rel(k.resources), components: rel(k.components) };
    writeFileSync(path.join(dir, 'kustomization.yaml'), JSON.stringify(doc));
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The build with the generators' content-hash suffixes removed from ConfigMap names and from every
 * reference to them, so tests can name `concord-config` rather than `concord-config-5g7k...`.
 */
export function withoutGeneratorHashes(manifests: Manifest[]): Manifest[] {
  const renames = new Map<string, string>();
  for (const m of manifests) {
    const hashed = /^(.+)-[a-z0-9]{10}$/.exec(m.metadata.name);
    if (m.kind === 'ConfigMap' && hashed?.[1]) renames.set(m.metadata.name, hashed[1]);
  }
  const rename = (v: unknown): unknown => {
    if (typeof v === 'string') return renames.get(v) ?? v;
    if (Array.isArray(v)) return v.map(rename);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x)]));
    return v;
  };
  return rename(manifests) as Manifest[];
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
