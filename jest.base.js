// Shared Jest settings for every workspace: ts-jest in CommonJS mode, `jose` (ESM-only) transformed,
// and `@concord/*` resolved to the libraries' sources so tests never depend on a stale build.
const path = require('node:path');

/** @param {string} dir @param {string} name */
module.exports = function jestProject(dir, name) {
  return {
    displayName: name,
    rootDir: dir,
    testEnvironment: 'node',
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
      '^@concord/(common|db|client)$': path.join(__dirname, 'libs/$1/src/index.ts'),
    },
    testTimeout: 60_000,
  };
};
