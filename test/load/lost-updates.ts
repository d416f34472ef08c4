/**
 * Lost-update accounting of a read-modify-write run: every key starts at a known value and each
 * 200 to a PUT of value + 1 is one increment, so a key's final value must be its start plus the
 * number of 200s it got. Below that an acknowledged write was lost (two writers both won on one
 * revision); above it a write committed without a 200 (possible only when an answer was lost).
 */

/** The outcome over all keys. */
export interface LostUpdateCount {
  /** 200s counted. */
  acknowledged: number;
  /** Keys with at least one 200. */
  keysWritten: number;
  /** Sum over keys of (200s − increase), where positive. Must be 0. */
  lost: number;
  /** Sum over keys of (increase − 200s), where positive. 0 unless answers were lost. */
  unacknowledged: number;
  /** Up to 10 keys whose final value is off, for the report. */
  examples: { key: string; start: number; acknowledged: number; final: number | undefined }[];
}

/** Counts the 200s per key from the granted writes' keys. */
export function countByKey(keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/**
 * Compares `acknowledged` (200s per key) with `finals` (the value each key holds now; a missing key
 * counts as never written, i.e. still at its start). `start(key)` is the value before the run.
 */
export function countLostUpdates(
  acknowledged: ReadonlyMap<string, number>,
  finals: ReadonlyMap<string, number>,
  start: (key: string) => number,
): LostUpdateCount {
  const result: LostUpdateCount = {
    acknowledged: 0,
    keysWritten: 0,
    lost: 0,
    unacknowledged: 0,
    examples: [],
  };
  const keys = new Set([...acknowledged.keys(), ...finals.keys()]);
  for (const key of keys) {
    const acks = acknowledged.get(key) ?? 0;
    const before = start(key);
    const final = finals.get(key);
    const increase = (final ?? before) - before;
    result.acknowledged += acks;
    if (acks > 0) result.keysWritten++;
    if (acks > increase) result.lost += acks - increase;
    if (increase > acks) result.unacknowledged += increase - acks;
    if (acks !== increase && result.examples.length < 10) {
      result.examples.push({ key, start: before, acknowledged: acks, final });
    }
  }
  return result;
}
