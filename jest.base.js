// Shared Jest settings for every workspace: ts-jest in CommonJS mode, `jose` (ESM-only) transformed,
// and `@concord/<lib>` resolved to the library's sources so tests never depend on a stale build.
const fs = require('node:fs');
const path = require('node:path');

// Every folder under libs/ with a package.json is a library: a new one needs no edit here.
const LIBS = fs
  .readdirSync(path.join(__dirname, 'libs'), { withFileTypes: true })
  .filter(
    (entry) => entry.isDirectory() && fs.existsSync(path.join(__dirname, 'libs', entry.name, 'package.json')),
  )
  .map((entry) => entry.name);

/** @param {string} dir @param {string} name */
module.exports = function jestProject(dir, name) {
  return {
    displayName: name,
    rootDir: dir,
    testEnvironment: path.join(__dirname, 'jest.environment.js'),
    setupFiles: [path.join(__dirname, 'jest.pg-pools.js')],
    testMatch: ['<rootDir>/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    transform: {
      '^.+\\.[tj]sx?$': [
        'ts-jest',
        { tsconfig: path.join(__dirname, 'tsconfig.jest.json'), diagnostics: { warnOnly: false } },
      ],
    },
    transformIgnorePatterns: ['/node_modules/(?!jose/)'],
    moduleNameMapper: {
      [`^@concord/(${LIBS.join('|')})$`]: path.join(__dirname, 'libs/$1/src/index.ts'),
    },
    testTimeout: 60_000,
  };
};
