// Dockerfile and .dockerignore, checked offline (no Docker engine here): the Dockerfile passes the
// dockerfile-utils validator (the one behind VS Code's Docker support), its stages do what the
// deployment relies on, and the build context holds what the build reads and nothing secret.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { validate } from 'dockerfile-utils';

import { ROOT, parseComposeYaml, readRepoFile } from './support/compose-file';
import { kustomize, podSpec } from './support/kustomize';
import { readServiceList } from '../../proxy/service-list/service-list';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) continue;
    const keyword = (m[1] ?? '').toUpperCase();
    const rest = m[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest.trim());
      const image = (from?.[1] ?? '').replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
      stages.push({ name: from?.[2] ?? String(stages.length), from: image, instructions: [] });
    } else if (keyword === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = rest.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push({ keyword, args: rest.replace(/\s+/g, ' ').trim() });
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
const stage = (name: string): Stage => {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
/** Instructions of a stage and of the stages it is built FROM. */
function lineage(name: string): Instruction[] {
  const s = stage(name);
  const parent = dockerfile.stages.find((x) => x.name === s.from);
  return [...(parent ? lineage(parent.name) : []), ...s.instructions];
}
const runs = (name: string) =>
  lineage(name)
    .filter((i) => i.keyword === 'RUN')
    .map((i) => i.args);
const copies = (name: string) =>
  lineage(name)
    .filter((i) => i.keyword === 'COPY')
    .map((i) => i.args);
const lastUser = (name: string) =>
  lineage(name)
    .filter((i) => i.keyword === 'USER')
    .at(-1)?.args;

/** `node <script>` commands that docker-compose.yml and the k8s workloads run in the Concord image. */
function deploymentScripts(): string[] {
  const compose = parseComposeYaml(readRepoFile('docker-compose.yml')) as {
    services: Record<string, { command?: string[]; build?: unknown }>;
  };
  const scripts = Object.values(compose.services)
    .filter((s) => s.build !== undefined && s.command?.[0] === 'node')
    .map((s) => s.command?.[1] ?? '');
  for (const m of kustomize(path.join(ROOT, 'k8s/overlays/production'))) {
    for (const c of podSpec(m)?.containers ?? []) {
      const command = c.command as string[] | undefined;
      if (command?.[0] === 'node' && command[1]) scripts.push(command[1]);
    }
  }
  return [...new Set(scripts)];
}

describe('Dockerfile', () => {
  it('passes the dockerfile-utils validator without a diagnostic', () => {
    expect(validate(readRepoFile('Dockerfile'))).toEqual([]);
  });

  it('builds on node:20-bookworm-slim: npm ci, npm run build, then prunes dev dependencies', () => {
    expect(dockerfile.args.NODE_IMAGE).toBe('node:20-bookworm-slim');
    expect(stage('builder').from).toBe('node:20-bookworm-slim');
    const builder = runs('builder').join('\n');
    expect(builder).toMatch(/npm ci --ignore-scripts/);
    expect(builder.indexOf('npm ci')).toBeLessThan(builder.indexOf('npm run build'));
    expect(builder.indexOf('npm run build')).toBeLessThan(builder.indexOf('npm prune --omit=dev'));
  });

  it('copies the package.json of every workspace before npm ci, naming no service (found by glob)', () => {
    const builder = stage('builder').instructions;
    const npmCi = builder.findIndex((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
    const before = builder
      .slice(0, npmCi)
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args);
    expect(before).toEqual(['package.json package-lock.json ./', '--from=manifests /app ./']);
    // The manifests stage keeps exactly <libs|services>/<name>/package.json of the whole tree.
    expect(copies('manifests')).toEqual(['libs libs', 'services services']);
    expect(runs('manifests').join('\n')).toContain("-not -regex '[^/]*/[^/]*/package\\.json' -delete");
    for (const s of readServiceList())
      expect(readRepoFile('Dockerfile')).not.toContain(`COPY services/${s.name}`);
  });

  it('the default target is `runtime`: production env, non-root numeric user, no build tools', () => {
    expect(dockerfile.stages.at(-1)?.name).toBe('runtime');
    expect(stage('runtime').from).toBe('app');
    expect(lineage('runtime').find((i) => i.keyword === 'ENV')?.args).toBe('NODE_ENV=production');
    expect(lastUser('runtime')).toBe('10001:10001');
    expect(runs('runtime').join('\n')).not.toMatch(/apt-get install/);
    // Code is owned by root: the service user cannot rewrite what it runs.
    expect(copies('runtime').filter((c) => c.includes('--chown'))).toEqual([]);
  });

  it('every script that compose and k8s run is built and copied into the runtime image', () => {
    const scripts = deploymentScripts();
    expect(scripts).toEqual(
      expect.arrayContaining([
        'services/auth-service/dist/main.js',
        'services/auth-service/dist/keys-cli.js',
        'libs/db/dist/migrate-cli.js',
      ]),
    );
    expect(scripts).toEqual(expect.arrayContaining(readServiceList().map((s) => s.main)));
    const runtimeCopies = copies('runtime');
    const localTools = copies('local-tools');
    const collect = runs('builder').join('\n');
    // Every workspace's package.json, dist and nested node_modules go to /out, which runtime copies.
    expect(collect).toMatch(/for ws in libs\/\* services\/\*; do/);
    expect(collect).toContain('cp -r "$ws/dist" "/out/$ws/dist"');
    expect(collect).toContain('cp -r "$ws/node_modules" "/out/$ws/node_modules"');
    expect(runtimeCopies).toContain('--from=builder /out ./');
    for (const script of scripts) {
      const dist = /^((?:libs|services)\/[^/]+)\/dist\/(.+)\.js$/.exec(script);
      if (dist) {
        // Compiled from src/<name>.ts by `npm run build`.
        expect(statSync(path.join(ROOT, `${dist[1]}/src/${dist[2]}.ts`)).isFile()).toBe(true);
      } else {
        expect(statSync(path.join(ROOT, script)).isFile()).toBe(true);
        expect(localTools.some((c) => script.startsWith(`${c.split(' ').at(-1)}/`))).toBe(true);
      }
    }
    // The migrator reads its SQL files at run time.
    expect(collect).toContain(
      'cp -r libs/db/prisma libs/db/generated libs/db/prisma.config.js /out/libs/db/',
    );
  });

  it('local-tools adds openssl, the gateway renderer and the service list reader, as the non-root user', () => {
    expect(stage('local-tools').from).toBe('app');
    expect(runs('local-tools').join('\n')).toMatch(/apt-get install -y --no-install-recommends openssl/);
    expect(copies('local-tools').filter((c) => c.includes('proxy'))).toEqual([
      '--from=builder /app/proxy/service-list proxy/service-list',
      '--from=builder /app/proxy/gateway proxy/gateway',
    ]);
    expect(lastUser('local-tools')).toBe('10001:10001');
  });
});

/**
 * The build context as Docker computes it from .dockerignore (moby/patternmatcher): patterns are
 * cleaned paths, `*` and `?` stay within one path segment, `**` spans any number of them, a pattern
 * also matches everything below a directory it matches, and the last matching pattern decides
 * (`!` re-includes).
 */
function dockerignore(text: string): (rel: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
      // `**` segments become a marker first, so that escaping and `*` handling leave them alone.
      const globstar = '<globstar>';
      const source = pattern
        .split('/')
        .map((segment) =>
          segment === '**'
            ? globstar
            : segment
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replaceAll(`${globstar}/`, '(?:.*/)?')
        .replaceAll(`/${globstar}`, '(?:/.*)?')
        .replaceAll(globstar, '.*');
      return { negate, re: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (rel) => {
    let excluded = false;
    for (const p of patterns) if (p.re.test(rel)) excluded = !p.negate;
    return !excluded;
  };
}

function walk(dir: string, skip: (rel: string) => boolean, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (skip(r)) return [];
    return e.isDirectory() ? walk(dir, skip, r) : [r];
  });
}

describe('.dockerignore', () => {
  const included = dockerignore(readRepoFile('.dockerignore'));
  const files = walk(ROOT, (rel) => /(^|\/)(node_modules|\.git)$/.test(rel));

  it('sends the sources, manifests and lockfile the build reads', () => {
    const needed = files.filter(
      (f) =>
        /^(libs|services)\/[^/]+\/(src\/.+|package\.json|tsconfig[^/]*\.json)$/.test(f) ||
        /^libs\/db\/(prisma\/.+|prisma\.config\.js)$/.test(f) ||
        (/^proxy\/(gateway|service-list)\/[^/]+\.js$/.test(f) && !f.endsWith('jest.config.js')) ||
        ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json'].includes(f),
    );
    expect(needed.length).toBeGreaterThan(50);
    expect(needed.filter((f) => !included(f))).toEqual([]);
  });

  it('keeps secrets, local state, build output and everything else out', () => {
    for (const f of [
      '.env',
      '.env.local',
      'services/auth-service/.env',
      '.run/keys/jwt-keys.json',
      '.run/tls/server.key',
      '.git/config',
      'node_modules/x/index.js',
      'libs/common/node_modules/x/index.js',
      'libs/common/dist/index.js',
      'services/auth-service/dist/main.js',
      'libs/db/generated/client.ts',
      'docs/operations.md',
      'test/deploy/k8s.test.ts',
      'k8s/base/kustomization.yaml',
      'docker-compose.yml',
      'coverage/lcov.info',
      'proxy/stack/stack.js',
      'proxy/gateway/gateway.test.ts',
    ]) {
      expect([f, included(f)]).toEqual([f, false]);
    }
  });
});
