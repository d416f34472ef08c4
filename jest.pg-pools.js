// Records every pg Pool a test file creates (its own and those of in-process services) for the
// leak guard of jest.environment.js. Runs before the test file, in its module registry, so the file
// and everything it imports construct the recording subclass.
const pg = require('pg');

const pools = new Set();
globalThis.__concordPgPools = pools;
const Original = pg.Pool;
pg.Pool = class RecordedPool extends Original {
  constructor(...args) {
    super(...args);
    pools.add(this);
  }
};
