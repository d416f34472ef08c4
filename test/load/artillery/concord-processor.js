// @ts-check
'use strict';
// Functions the Artillery scenarios call (`config.processor`): what YAML cannot express. Artillery
// calls them as (context, events, done) for `function:` steps.

const crypto = require('node:crypto');

/** One prefix per Artillery process, so a run writes bench keys of its own (never another namespace). */
const RUN = crypto.randomBytes(4).toString('hex');

/**
 * Picks the bench key of this iteration: one of CONCORD_BENCH_KEYS keys (default 64; 1 = one hot
 * key), named after the run.
 * @param {{ vars: Record<string, unknown> }} context
 * @param {unknown} _events
 * @param {() => void} done
 */
function pickBenchKey(context, _events, done) {
  const count = Math.max(1, Number(process.env.CONCORD_BENCH_KEYS ?? 64));
  context.vars.benchKey = `load_artillery_${RUN}_${crypto.randomInt(count)}`;
  done();
}

/**
 * value + 1 for the compare-and-swap PUT (Artillery templates cannot add).
 * @param {{ vars: Record<string, unknown> }} context
 * @param {unknown} _events
 * @param {() => void} done
 */
function nextValue(context, _events, done) {
  context.vars.nextValue = Number(context.vars.value ?? 0) + 1;
  done();
}

module.exports = { pickBenchKey, nextValue };
