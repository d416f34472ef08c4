// @ts-check
'use strict';
// Writes every deployment file that derives from the service list: docker-compose.yml and the
// generated part of k8s/ (per-service manifests, kustomizations, HTTPRoutes, the gateway's nginx.conf).
//
//   npm run render            (re)writes them
//   npm run render -- --check lists the files that differ and exits 1 (test/deploy runs it)

const fs = require('node:fs');
const path = require('node:path');

const { renderCompose } = require('./compose');
const { renderK8s } = require('./k8s');
const { readServiceList, REPO_ROOT } = require('../service-list/service-list');

/**
 * @typedef {import('./k8s').RenderedFile} RenderedFile
 */

/**
 * Every generated file, rendered from the service list under `root`.
 * @param {string} [root]
 * @returns {RenderedFile[]}
 */
function renderDeployment(root = REPO_ROOT) {
  const services = readServiceList(root);
  return [{ file: 'docker-compose.yml', content: renderCompose(services) }, ...renderK8s(services)];
}

/**
 * The generated files whose committed content differs from what the renderer writes now.
 * @param {string} [root]
 * @returns {string[]}
 */
function staleFiles(root = REPO_ROOT) {
  return renderDeployment(root)
    .filter(({ file, content }) => {
      const abs = path.join(root, file);
      return !fs.existsSync(abs) || fs.readFileSync(abs, 'utf8') !== content;
    })
    .map(({ file }) => file);
}

/** @param {string[]} argv */
function main(argv) {
  if (argv.includes('--check')) {
    const stale = staleFiles();
    for (const file of stale) process.stderr.write(`${file} is out of date: run npm run render\n`);
    return stale.length > 0 ? 1 : 0;
  }
  for (const { file, content } of renderDeployment()) {
    const abs = path.join(REPO_ROOT, file);
    if (fs.existsSync(abs) && fs.readFileSync(abs, 'utf8') === content) continue;
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
    process.stdout.write(`wrote ${file}\n`);
  }
  return 0;
}

module.exports = { renderDeployment, staleFiles };

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`render: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
