import { readFileSync } from 'node:fs';

/**
 * Process helpers of the realtime benchmark: an open-file limit for children that hold thousands
 * of sockets, and their resident memory.
 */

/** The soft and hard "Max open files" of this process (Linux /proc). */
export function openFileLimits(limits = readFileSync('/proc/self/limits', 'utf8')): {
  soft: number;
  hard: number;
} {
  const row = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const n = (v: string | undefined) => (v === undefined || v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(row?.[1]), hard: n(row?.[2]) };
}

/**
 * `[command, args]` that runs `argv` with the soft open-file limit raised to `needed` (through
 * `sh -c 'ulimit -n'`, then `exec`, so the pid is the program's own), or `argv` unchanged when the
 * inherited limit already suffices. Throws when the hard limit is below `needed`: the run would
 * otherwise fail thousands of sockets in with EMFILE.
 */
export function withOpenFiles(
  argv: readonly string[],
  needed: number,
  limits = openFileLimits(),
): [string, string[]] {
  if (needed > limits.hard)
    throw new Error(`a process needs ${needed} open files but the hard limit is ${limits.hard}`);
  if (needed <= limits.soft) return [argv[0]!, argv.slice(1)];
  return ['sh', ['-c', 'ulimit -n "$0" && exec "$@"', String(needed), ...argv]];
}

/** Resident set size of `pid` in bytes (VmRSS), or NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? Number.NaN : Number(kib) * 1024;
  } catch {
    return Number.NaN;
  }
}
