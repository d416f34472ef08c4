import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The two ways of offering load (Schroeder et al., "Open Versus Closed: A Cautionary Tale", NSDI
 * 2006; k6's arrival-rate vs VU executors):
 *
 * - `open`: iterations *arrive* at `rate` per second whatever the system does, as independent users
 *   do. Each has an intended start `t0 + i / rate`; when every slot is busy the arrival waits, and
 *   its latency still counts from the intended start. An arrival that would wait behind a full
 *   queue is dropped and reported, so the generator never hides a saturated target.
 * - `closed`: `concurrency` virtual users loop. With `rate` each user keeps its own schedule of
 *   `rate / concurrency` per second and measures from the intended send time, as wrk2 does; without
 *   `rate` the users go back to back and their latencies are corrected afterwards (see
 *   report.ts: HdrHistogram's copyCorrectedForCoordinatedOmission).
 *
 * Either way the run stops by itself at `durationMs` or after `maxIterations`, whichever first.
 */
export type LoadModel = 'open' | 'closed';

/** One iteration handed to the scenario. */
export interface Iteration {
  /** Slot (virtual user) index, `0 … concurrency-1`. */
  vu: number;
  /** Global sequence number, from 0. */
  n: number;
  /** When it should have started (ms on the workload's clock): latencies count from here. */
  intendedAt: number;
  /** When it did start. */
  startedAt: number;
}

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  model: LoadModel;
  /** closed: virtual users; open: most iterations in flight at once. */
  concurrency: number;
  /** Iterations per second (required for `open`; paces `closed`). */
  rate?: number;
  durationMs: number;
  maxIterations: number;
  /** Monotonic clock, ms (performance.now by default). */
  now?: () => number;
  /** Stops scheduling (in-flight iterations finish or honour the same signal). */
  signal?: AbortSignal;
  /** Runs one iteration; a rejection is handed to `onError` and never stops the run. */
  iteration(it: Iteration): Promise<void>;
  onError(err: unknown, it: Iteration): void;
  /** Called for an open-model arrival that found the queue full. */
  onDrop?(it: Iteration): void;
}

/** What {@link runWorkload} did. */
export interface WorkloadResult {
  started: number;
  dropped: number;
  /** Wall time from the first scheduled start to the last iteration's end, ms. */
  elapsedMs: number;
}

/** Checks the options; throws a plain Error naming the bad one. */
export function checkWorkload(
  o: Pick<WorkloadOptions, 'model' | 'concurrency' | 'rate' | 'durationMs' | 'maxIterations'>,
) {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error('concurrency must be ≥ 1');
  if (o.model === 'open' && o.rate === undefined) throw new Error('the open model needs a rate');
  if (o.rate !== undefined && !(o.rate > 0)) throw new Error('rate must be > 0');
  if (!(o.durationMs > 0)) throw new Error('duration must be > 0');
  if (!Number.isInteger(o.maxIterations) || o.maxIterations < 1) throw new Error('maxIterations must be ≥ 1');
}

/** Runs the workload to its end (see the file comment). */
export async function runWorkload(o: WorkloadOptions): Promise<WorkloadResult> {
  checkWorkload(o);
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const end = t0 + o.durationMs;
  const result = { started: 0, dropped: 0 };
  const stopped = () => o.signal?.aborted === true || now() >= end || result.started >= o.maxIterations;

  const run = async (it: Iteration) => {
    try {
      await o.iteration(it);
    } catch (err) {
      o.onError(err, it);
    }
  };

  if (o.model === 'closed') {
    const period = o.rate === undefined ? 0 : (o.concurrency * 1000) / o.rate;
    const user = async (vu: number) => {
      // Users start evenly spread over one period so they do not fire in lock step.
      let intended = t0 + (period * vu) / o.concurrency;
      for (;;) {
        const wait = intended - now();
        if (wait > 0) await pause(wait, o.signal);
        if (stopped()) return;
        const startedAt = now();
        const it = { vu, n: result.started++, intendedAt: period > 0 ? intended : startedAt, startedAt };
        await run(it);
        // wrk2: the next send is due one period after the previous *intended* one, not after the
        // answer, so a stall is charged to every request it delayed.
        intended = period > 0 ? intended + period : now();
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, (_, vu) => user(vu)));
    return { ...result, elapsedMs: now() - t0 };
  }

  // Open model: one scheduler, `concurrency` slots, a FIFO of arrivals waiting for a slot.
  const interval = 1000 / o.rate!;
  const free = Array.from({ length: o.concurrency }, (_, i) => o.concurrency - 1 - i);
  const queue: Iteration[] = [];
  const inFlight = new Set<Promise<void>>();
  const dispatch = () => {
    while (queue.length > 0 && free.length > 0) {
      const it = queue.shift()!;
      it.vu = free.pop()!;
      it.startedAt = now();
      const p: Promise<void> = run(it).finally(() => {
        inFlight.delete(p);
        free.push(it.vu);
        dispatch();
      });
      inFlight.add(p);
    }
  };
  for (let i = 0; ; i++) {
    const intendedAt = t0 + i * interval;
    if (intendedAt >= end) break;
    const wait = intendedAt - now();
    if (wait > 1) await pause(wait, o.signal);
    if (stopped()) break;
    const it: Iteration = { vu: -1, n: result.started++, intendedAt, startedAt: Number.NaN };
    if (queue.length >= o.concurrency) {
      result.dropped++;
      o.onDrop?.(it);
      continue;
    }
    queue.push(it);
    dispatch();
  }
  // Arrivals still queued at the end never started: they are neither run nor counted as dropped.
  result.started -= queue.length;
  queue.length = 0;
  while (inFlight.size > 0) await Promise.all(inFlight);
  return { ...result, elapsedMs: now() - t0 };
}

async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (!signal?.aborted) throw err; // an abort only ends the wait; the caller checks stopped()
  }
}
