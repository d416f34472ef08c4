import { performance } from 'node:perf_hooks';

/** Time source; tests pass a fake. `now` is wall-clock ms, `monotonic` never jumps. */
export interface Clock {
  now(): number;
  monotonic(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
