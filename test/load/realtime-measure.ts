import type { ClientWorkers, Deliveries } from './realtime-clients';
import { summarize, type Summary } from './stats';

/** Milliseconds of the wall clock the client workers stamp deliveries with. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** Sends one message; `data` must reach the clients unchanged. Rejects unless the server took it. */
export type Publish = (
  to: { channel: string } | { user: string },
  data: { k: string; sentAt: number },
) => Promise<void>;

/** Delivery latencies of one kind of message. */
export interface DeliveryResult {
  messages: number;
  expected: number;
  delivered: number;
  summary: Summary;
  /** Every delivery latency (ms), for the histograms. */
  samplesMs: number[];
}

/** Polls the workers until each key has `expected[k]` deliveries or `timeoutMs` passed. */
async function waitDelivered(
  workers: ClientWorkers,
  expected: Record<string, number>,
  timeoutMs: number,
): Promise<void> {
  const keys = Object.keys(expected);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await workers.counts(keys);
    if (keys.every((k) => (counts[k] ?? 0) >= expected[k]!)) return;
    if (Date.now() > deadline) return; // the shortfall is reported as lost deliveries
    await new Promise((r) => setTimeout(r, 20));
  }
}

function deliveryResult(taken: Record<string, Deliveries>, expected: number): DeliveryResult {
  const samplesMs = Object.values(taken).flatMap((d) => d.latencies);
  return {
    messages: Object.keys(taken).length,
    expected,
    delivered: samplesMs.length,
    summary: summarize(samplesMs),
    samplesMs,
  };
}

let sequence = 0;
const key = (label: string) => `${label}-${++sequence}`;

/**
 * `count` broadcasts to `channel`, one at a time: each waits until every subscribed socket has it
 * (or `timeoutMs`), then `gapMs` of quiet, so each measures an idle cluster's delivery to all.
 */
export async function measureBroadcasts(o: {
  workers: ClientWorkers;
  publish: Publish;
  channel: string;
  sockets: number;
  count: number;
  gapMs: number;
  timeoutMs: number;
}): Promise<DeliveryResult> {
  const keys: string[] = [];
  for (let i = 0; i < o.count; i++) {
    const k = key('broadcast');
    keys.push(k);
    await o.publish({ channel: o.channel }, { k, sentAt: wallNow() });
    await waitDelivered(o.workers, { [k]: o.sockets }, o.timeoutMs);
    await new Promise((r) => setTimeout(r, o.gapMs));
  }
  return deliveryResult(await o.workers.take(keys), o.count * o.sockets);
}

/** Fan-out throughput: a burst of broadcasts sent back to back. */
export interface FanoutResult {
  broadcasts: number;
  delivered: number;
  expected: number;
  /** Deliveries per second from the first send to the last delivery. */
  deliveriesPerSecond: number;
  durationMs: number;
}

/** Deliveries per second from `firstSentAt` to the latest delivery (pure). */
export function fanoutRate(
  firstSentAt: number,
  taken: readonly Deliveries[],
): { delivered: number; durationMs: number; perSecond: number } {
  const delivered = taken.reduce((s, d) => s + d.latencies.length, 0);
  const lastAt = Math.max(firstSentAt, ...taken.map((d) => d.lastAt));
  const durationMs = lastAt - firstSentAt;
  return { delivered, durationMs, perSecond: durationMs > 0 ? (delivered / durationMs) * 1000 : Number.NaN };
}

/** `count` broadcasts published without waiting for deliveries; throughput until the last arrives. */
export async function measureFanout(o: {
  workers: ClientWorkers;
  publish: Publish;
  channel: string;
  sockets: number;
  count: number;
  timeoutMs: number;
}): Promise<FanoutResult> {
  const keys = Array.from({ length: o.count }, () => key('fanout'));
  const first = wallNow();
  for (const k of keys) await o.publish({ channel: o.channel }, { k, sentAt: wallNow() });
  await waitDelivered(o.workers, Object.fromEntries(keys.map((k) => [k, o.sockets])), o.timeoutMs);
  const taken = await o.workers.take(keys);
  const rate = fanoutRate(first, Object.values(taken));
  return {
    broadcasts: o.count,
    delivered: rate.delivered,
    expected: o.count * o.sockets,
    deliveriesPerSecond: rate.perSecond,
    durationMs: rate.durationMs,
  };
}

/**
 * Light load on the per-user path: one message every `intervalMs` to a user picked in turn, each
 * delivered to all of that user's sockets (on every node); latency per delivery.
 */
export async function measurePerUser(o: {
  workers: ClientWorkers;
  publish: Publish;
  /** User ids with the number of sockets each holds. */
  users: { id: string; sockets: number }[];
  count: number;
  intervalMs: number;
  timeoutMs: number;
}): Promise<DeliveryResult> {
  const expected: Record<string, number> = {};
  const sends: Promise<void>[] = [];
  for (let i = 0; i < o.count; i++) {
    const user = o.users[(i * 7919) % o.users.length]!; // a prime stride spreads the picks
    const k = key('user');
    expected[k] = user.sockets;
    sends.push(o.publish({ user: user.id }, { k, sentAt: wallNow() }));
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  await Promise.all(sends);
  await waitDelivered(o.workers, expected, o.timeoutMs);
  const total = Object.values(expected).reduce((s, n) => s + n, 0);
  return deliveryResult(await o.workers.take(Object.keys(expected)), total);
}
