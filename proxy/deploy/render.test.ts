import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT, readServiceList } from '../service-list/service-list';
import { renderDeployment, staleFiles } from './render';

describe('npm run render -- --check', () => {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'concord-render-'));
    for (const s of readServiceList()) {
      mkdirSync(path.join(root, 'services', s.name), { recursive: true });
      cpSync(
        path.join(REPO_ROOT, 'services', s.name, 'package.json'),
        path.join(root, 'services', s.name, 'package.json'),
      );
    }
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function writeAll(): void {
    for (const { file, content } of renderDeployment(root)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), content);
    }
  }

  it('the repository’s generated files are what the renderer writes now', () => {
    expect(staleFiles()).toEqual([]);
  });

  it('when a generated file was edited by hand, names it', () => {
    writeAll();
    writeFileSync(path.join(root, 'k8s/base/settings-service/hpa.yaml'), 'edited: by hand\n');

    expect(staleFiles(root)).toEqual(['k8s/base/settings-service/hpa.yaml']);
  });

  it('when a service’s entry changes, every file that derives from it is stale until re-rendered', () => {
    writeAll();
    const pkg = path.join(root, 'services/settings-service/package.json');
    const json = JSON.parse(readFileSync(pkg, 'utf8')) as { concord: { replicas: number } };
    json.concord.replicas = 3;
    writeFileSync(pkg, JSON.stringify(json));

    expect(staleFiles(root)).toEqual(
      expect.arrayContaining(['docker-compose.yml', 'k8s/base/settings-service/deployment.yaml']),
    );
  });
});
