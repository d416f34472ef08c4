// The test environment of every project: Node's, plus a guard against pg pools a test file leaves
// open. On this machine Jest runs every file in one process (2 cores: one worker, in band), so a
// pool left behind by one file lives on into the next ones; when its database is dropped (forced),
// its idle clients emit 'error', and with no listener that error surfaces as an "unhandled error" in
// whatever test runs at that moment, in another file. The guard (jest.pg-pools.js records every
// pool a file creates) names the leaking file on stderr and ends its pools, with a listener that
// reports any late error instead of throwing it into someone else's test.
const { TestEnvironment } = require('jest-environment-node');

class ConcordEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async teardown() {
    const pools = this.global.__concordPgPools;
    if (pools) {
      const open = [...pools].filter((pool) => !pool.ending);
      if (open.length > 0) {
        process.stderr.write(
          `[pg-pools] ${this.testPath} left ${open.length} pg pool(s) open; ending them now\n`,
        );
      }
      await Promise.all(
        open.map((pool) => {
          pool.on('error', (err) =>
            process.stderr.write(
              `[pg-pools] late error of a pool ${this.testPath} left open: ${err.message}\n`,
            ),
          );
          return pool
            .end()
            .catch((err) =>
              process.stderr.write(
                `[pg-pools] ending a pool ${this.testPath} left open failed: ${err.message}\n`,
              ),
            );
        }),
      );
    }
    await super.teardown();
  }
}

module.exports = ConcordEnvironment;
