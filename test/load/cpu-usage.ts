import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Per-component CPU accounting from /proc (Linux). On a small machine the load generator, the
 * gateway, the service, Postgres and Redis share the same cores, so req/s alone cannot say where
 * the time goes; CPU milliseconds per request per component can.
 */

/** One row of the process table. */
export interface ProcRow {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime in clock ticks. */
  ticks: number;
}

/** A named set of processes, chosen from the whole table (so children can be found via ppid). */
export interface CpuGroup {
  name: string;
  match(row: ProcRow, table: ReadonlyMap<number, ProcRow>): boolean;
}

/** A point-in-time reading to diff against. */
export interface CpuSnapshot {
  at: number;
  table: Map<number, ProcRow>;
  machine: { busy: number; total: number };
  self: NodeJS.CpuUsage;
}

/** CPU milliseconds per group over an interval, plus the machine totals. */
export interface CpuAccount {
  wallMs: number;
  groupsMs: Record<string, number>;
  /** This (bench) process: it reads the services' output pipes and drives the clients. */
  benchMs: number;
  /** Busy time of all cores (user + nice + system + irq + softirq + steal). */
  machineBusyMs: number;
  /** Busy + idle of all cores: the capacity the interval offered. */
  machineTotalMs: number;
}

let ticksPerSecond: number | undefined;

/** The kernel's USER_HZ (almost always 100). */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return ticksPerSecond;
}

function readProcessTable(): Map<number, ProcRow> {
  const table = new Map<number, ProcRow>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we listed /proc
    }
    // comm may contain spaces and parentheses: it ends at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
    table.set(Number(entry), {
      pid: Number(entry),
      ppid: Number(fields[1]),
      comm,
      ticks: Number(fields[11]) + Number(fields[12]),
    });
  }
  return table;
}

function readMachineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/** Reads every process's and the machine's CPU counters now. */
export function snapshotCpu(): CpuSnapshot {
  return {
    at: performance.now(),
    table: readProcessTable(),
    machine: readMachineTicks(),
    self: process.cpuUsage(),
  };
}

/**
 * CPU used per group between `before` and now. A process that started in between counts from zero;
 * one that exited in between is lost unless `exited` holds its last reading (see {@link trackCpu}).
 */
export function cpuSince(
  before: CpuSnapshot,
  groups: readonly CpuGroup[],
  exited: ReadonlyMap<number, ProcRow> = new Map(),
): CpuAccount {
  const after = snapshotCpu();
  const table = new Map([...exited, ...after.table]);
  const msPerTick = 1000 / clockTicksPerSecond();
  const groupsMs: Record<string, number> = {};
  for (const g of groups) groupsMs[g.name] = 0;
  for (const row of table.values()) {
    const group = groups.find((g) => g.match(row, table));
    if (!group) continue;
    const delta = row.ticks - (before.table.get(row.pid)?.ticks ?? 0);
    groupsMs[group.name]! += Math.max(0, delta) * msPerTick;
  }
  const self = process.cpuUsage(before.self);
  return {
    wallMs: after.at - before.at,
    groupsMs,
    benchMs: (self.user + self.system) / 1000,
    machineBusyMs: (after.machine.busy - before.machine.busy) * msPerTick,
    machineTotalMs: (after.machine.total - before.machine.total) * msPerTick,
  };
}

/** Matches the given pids. */
export function pidGroup(name: string, pids: () => readonly number[]): CpuGroup {
  return { name, match: (row) => pids().includes(row.pid) };
}

/** Matches processes by command name prefix (system daemons such as postgres, redis-server). */
export function commGroup(name: string, prefix: string): CpuGroup {
  return { name, match: (row) => row.comm.startsWith(prefix) };
}

/** nginx masters started by this process, and their workers. */
export function ownNginxGroup(name = 'nginx'): CpuGroup {
  const isOwnMaster = (row: ProcRow | undefined) =>
    row !== undefined && row.comm === 'nginx' && row.ppid === process.pid;
  return {
    name,
    match: (row, table) => isOwnMaster(row) || (row.comm === 'nginx' && isOwnMaster(table.get(row.ppid))),
  };
}

/**
 * {@link cpuSince} for a run whose processes may exit before it ends (pgbench and the Postgres
 * backends of its connections): the process table is read every `intervalMs`, so such a process
 * counts up to its last reading (at most `intervalMs` of its CPU is missed).
 */
export function trackCpu(intervalMs = 250): { finish(groups: readonly CpuGroup[]): CpuAccount } {
  const before = snapshotCpu();
  const seen = new Map<number, ProcRow>();
  const timer = setInterval(() => {
    for (const [pid, row] of readProcessTable()) seen.set(pid, row);
  }, intervalMs);
  return {
    finish(groups) {
      clearInterval(timer);
      return cpuSince(before, groups, seen);
    },
  };
}
