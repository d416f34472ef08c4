// @ts-check
'use strict';
// `npm run rehearse -- <name> [jest options]`: runs one rehearsal of DESIGN.md section 9 in full.
// Each rehearsal is a Jest suite under test/rehearsal/<name>/; `npm test` (CI) runs the same files in
// smoke mode. REHEARSAL=full selects the whole scenario. A rehearsal whose prerequisites are missing
// fails; it never skips.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const available = fs
  .readdirSync(__dirname, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(
    `usage: npm run rehearse -- <${available.join('|') || 'name'}> [jest options]\n` +
      (name ? `unknown rehearsal: ${name}\n` : ''),
  );
  process.exit(2);
}

const jest = require.resolve('jest/bin/jest', { paths: [root] });
const result = spawnSync(
  process.execPath,
  // The path first: `--selectProjects` takes every following word as a project name.
  [jest, `test/rehearsal/${name}/`, '--selectProjects', 'e2e', '--runInBand', ...rest],
  { cwd: root, stdio: 'inherit', env: { ...process.env, REHEARSAL: 'full' } },
);
process.exit(result.status ?? 1);
