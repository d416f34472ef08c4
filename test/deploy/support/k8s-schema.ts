// Offline validation of Kubernetes objects, two ways:
// 1. the OpenAPI-derived JSON-schema validators of kubernetes-models (types, required fields, enums,
//    formats), through each model class's validate();
// 2. a strict pass with the same package's TypeScript interfaces: every object becomes a literal
//    assigned to its interface, and TypeScript's excess-property check reports every unknown field
//    (a misspelt `readinesProbe` would pass the JSON schemas, which allow additional properties).
import * as path from 'node:path';
import ts from 'typescript';
import type { Manifest } from './kustomize';

interface ModelInfo {
  /** module that exports the model class and its interface */
  module: string;
  /** the class name (value export) */
  className: string;
  /** the interface name (type export) */
  iface: string;
}

const K = 'kubernetes-models';
const GW = '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';

/** apiVersion/kind -> model. Anything else in k8s/ fails validation until it is added here. */
const MODELS: Record<string, ModelInfo> = {
  'v1/Namespace': model(`${K}/v1/Namespace`, 'Namespace'),
  'v1/Service': model(`${K}/v1/Service`, 'Service'),
  'v1/ConfigMap': model(`${K}/v1/ConfigMap`, 'ConfigMap'),
  'v1/Secret': model(`${K}/v1/Secret`, 'Secret'),
  'apps/v1/Deployment': model(`${K}/apps/v1/Deployment`, 'Deployment'),
  'batch/v1/Job': model(`${K}/batch/v1/Job`, 'Job'),
  'policy/v1/PodDisruptionBudget': model(`${K}/policy/v1/PodDisruptionBudget`, 'PodDisruptionBudget'),
  'autoscaling/v2/HorizontalPodAutoscaler': model(
    `${K}/autoscaling/v2/HorizontalPodAutoscaler`,
    'HorizontalPodAutoscaler',
  ),
  'networking.k8s.io/v1/NetworkPolicy': model(`${K}/networking.k8s.io/v1/NetworkPolicy`, 'NetworkPolicy'),
  'gateway.networking.k8s.io/v1/Gateway': model(`${GW}/Gateway`, 'Gateway'),
  'gateway.networking.k8s.io/v1/HTTPRoute': model(`${GW}/HTTPRoute`, 'HTTPRoute'),
};

function model(module: string, className: string): ModelInfo {
  return { module, className, iface: `I${className}` };
}

function modelOf(m: Pick<Manifest, 'apiVersion' | 'kind'>): ModelInfo | undefined {
  return MODELS[`${m.apiVersion}/${m.kind}`];
}

/** Validates one object with its kubernetes-models class; returns the problem or undefined. */
export function schemaProblem(m: Manifest): string | undefined {
  const info = modelOf(m);
  if (!info) return `no schema known for ${m.apiVersion} ${m.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(info.module) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = exported[info.className];
  if (!Model) return `${info.module} does not export ${info.className}`;
  try {
    new Model(m).validate();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The strict pass: one virtual TypeScript file with every object as a typed literal. Returns one
 * line per diagnostic, prefixed with the object's label.
 */
export function unknownFieldProblems(items: Array<{ label: string; manifest: Manifest }>): string[] {
  const imports = new Map<string, ModelInfo>();
  const lines: string[] = [];
  const labels: Array<{ line: number; label: string }> = [];
  for (const [i, { label, manifest }] of items.entries()) {
    const info = modelOf(manifest);
    if (!info) continue;
    imports.set(info.module, info);
    labels.push({ line: lines.length + 1, label });
    lines.push(`export const m${i}: ${info.iface} = ${JSON.stringify(manifest)};`);
  }
  const header = [...imports.values()].map((info) => `import type { ${info.iface} } from '${info.module}';`);
  const source = [...header, ...lines].join('\n');
  const fileName = path.join(__dirname, '__manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === fileName ? source : readFile(f));
  host.fileExists = (f) => f === fileName || fileExists(f);
  host.getSourceFile = (f, lang, onError, create) =>
    f === fileName ? ts.createSourceFile(f, source, lang, true) : getSourceFile(f, lang, onError, create);
  const program = ts.createProgram([fileName], options, host);
  const out: string[] = [];
  for (const d of [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file?.fileName !== fileName || d.start === undefined) {
      out.push(text);
      continue;
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1 - header.length;
    const label = labels.find((l) => l.line === line)?.label ?? `line ${line}`;
    out.push(`${label}: ${text}`);
  }
  return out;
}
