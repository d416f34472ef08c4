import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A share of the profiled (non-idle) CPU time. */
export interface ProfileEntry {
  name: string;
  percent: number;
}

/** Where the replicas spent their CPU, from V8 `.cpuprofile` files. */
export interface ProfileSummary {
  directory: string;
  /** By package (node_modules name, Concord workspace, node core, GC). */
  byPackage: ProfileEntry[];
  /** By function (self time). */
  byFunction: ProfileEntry[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Buckets a script URL so that hundreds of functions read as a few owners. */
function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName || '(anonymous native)';
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0]}`;
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const [scope, name] = url.slice(nm + 'node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? url);
  }
  const workspace = /\/(libs|services)\/([^/]+)\//.exec(url);
  return workspace ? `@concord/${workspace[2]}` : path.basename(url);
}

function top(map: Map<string, number>, total: number, n: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, percent: Math.round((1000 * us) / total) / 10 }));
}

/**
 * Sums self time over every `.cpuprofile` in `directory` (one per replica). Idle time is left out
 * of the total, so the percentages describe the work the processes did.
 */
export async function summarizeCpuProfiles(directory: string, n = 15): Promise<ProfileSummary> {
  const files = (await readdir(directory)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${directory}`);
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(directory, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id);
      const us = profile.timeDeltas[i] ?? 0;
      if (!frame || frame.functionName === '(idle)') return;
      total += us;
      const owner = ownerOf(frame.url, frame.functionName);
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + us);
      const fn = `${frame.functionName || '(anonymous)'} ${owner}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    });
  }
  return { directory, byPackage: top(byPackage, total, n), byFunction: top(byFunction, total, n) };
}
