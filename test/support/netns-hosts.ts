import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawnManaged, waitFor, type ManagedProcess } from './processes';

const execFileAsync = promisify(execFile);

/**
 * "Hosts" as Linux network namespaces joined through a bridge that lives in a namespace of its own
 * (a switch), on a subnet that exists only inside them: the root namespace has neither an address
 * nor a route in it, so nothing the test runs can reach it over loopback by accident
 * (docs/decisions/019-several-hosts-rehearsal.md).
 */
export interface HostNetwork {
  /** The run's directory (created empty; removed with the namespaces). */
  stateDir: string;
  /** The namespace name of host `name` (`<prefix><name>`). */
  ns(name: string): string;
  /** The first (primary) address of host `name`. */
  address(name: string): string;
  /** Every address of host `name`. */
  addresses(name: string): string[];
  /** Spawns `command` inside host `name` (`ip netns exec` execs in place: the pid is the command's). */
  spawn(
    name: string,
    label: string,
    command: string,
    args: string[],
    env: Record<string, string>,
    options?: { ipc?: boolean },
  ): ManagedProcess;
  /** Runs a command to completion inside host `name`; throws with its output on a non-zero exit. */
  run(name: string, command: string, args: string[], env?: Record<string, string>): Promise<string>;
  /** Pulls host `name`'s cable: its switch port goes down (both ends then drop every frame). */
  cut(name: string): Promise<void>;
  /** Plugs it back in. */
  restore(name: string): Promise<void>;
  /** Kills whatever still runs in the namespaces and deletes them (also used at the start: sweep). */
  remove(): Promise<void>;
}

/** Options of {@link createHostNetwork}. */
export interface HostNetworkOptions {
  /** Unique prefix of every namespace (and of nothing else): what a sweep deletes. */
  prefix: string;
  /** A /24 given by its first three octets, e.g. `10.231.0`. */
  subnet: string;
  /** Host name -> last octets of its addresses (the first is its primary address). */
  hosts: Record<string, number[]>;
  /**
   * A fixed directory for the run's files (data directories, logs, pid files): a sweep deletes it
   * with the namespaces, so an interrupted run's leftovers go too.
   */
  stateDir: string;
}

const SWITCH = 'switch';

/** Runs `ip` with `args`; throws with its stderr. */
export async function ip(args: string[]): Promise<string> {
  try {
    return (await execFileAsync('ip', args, { timeout: 30_000 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/**
 * Throws naming every missing command: a rehearsal whose prerequisites are missing fails, it never
 * skips (DESIGN.md section 9). Root is a prerequisite too (namespaces, runuser).
 */
export function requireCommands(commands: string[]): void {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/local/bin'];
  const missing = commands.filter(
    (command) =>
      !dirs.some((dir) => {
        try {
          accessSync(path.join(dir, command), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  const problems = [
    ...(missing.length > 0
      ? [`missing commands: ${missing.join(', ')} (bash .ci/setup.sh installs them)`]
      : []),
    ...(process.getuid?.() === 0 ? [] : ['must run as root (network namespaces, runuser)']),
  ];
  if (problems.length > 0) throw new Error(`several-hosts rehearsal prerequisites: ${problems.join('; ')}`);
}

/** Namespaces whose name starts with `prefix`. */
async function namespacesWith(prefix: string): Promise<string[]> {
  return (await ip(['netns', 'list']))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/**
 * Deletes every namespace with `prefix` after killing the processes in it (found by namespace
 * membership, `ip netns pids`, rather than by pid files, which a reused pid could make lie), and any
 * root-namespace link with the prefix (a run interrupted between creating and moving a link), then
 * the state directory with the pid files and data directories those processes left.
 */
export async function sweepHostNetwork(prefix: string, stateDir: string): Promise<void> {
  for (const ns of await namespacesWith(prefix)) {
    const pids = async () => (await ip(['netns', 'pids', ns])).split(/\s+/).filter(Boolean).map(Number);
    for (const pid of await pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await waitFor(
      async () => (await pids()).length === 0,
      10_000,
      () => `processes in ${ns} survived SIGKILL`,
    );
    await ip(['netns', 'del', ns]);
  }
  for (const line of (await ip(['-o', 'link', 'show'])).split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name?.startsWith(prefix)) await ip(['link', 'del', name]);
  }
  rmSync(stateDir, { recursive: true, force: true });
}

/**
 * Throws when the root namespace has an address or a route in `subnet` (the rehearsal's addresses
 * must exist only inside its namespaces, and must not shadow anything real).
 */
export async function assertSubnetUnused(subnet: string): Promise<void> {
  const inUse = [
    ...(await ip(['-4', '-o', 'addr', 'show'])).split('\n'),
    ...(await ip(['-4', 'route', 'show', 'table', 'all'])).split('\n'),
  ].filter((line) => line.includes(`${subnet}.`));
  if (inUse.length > 0)
    throw new Error(`${subnet}.0/24 is in use in the root namespace:\n${inUse.join('\n')}`);
}

/** Builds the namespaces, the switch and the links; sweeps leftovers with the same prefix first. */
export async function createHostNetwork(options: HostNetworkOptions): Promise<HostNetwork> {
  const { prefix, subnet, hosts, stateDir } = options;
  const ns = (name: string) => `${prefix}${name}`;
  const addresses = (name: string) => {
    const octets = hosts[name];
    if (!octets) throw new Error(`no host ${name}`);
    return octets.map((o) => `${subnet}.${o}`);
  };
  const inNs = (name: string, command: string, args: string[]) => [
    'netns',
    'exec',
    ns(name),
    command,
    ...args,
  ];
  const network: HostNetwork = {
    stateDir,
    ns,
    address: (name) => addresses(name)[0]!,
    addresses,
    spawn: (name, label, command, args, env, spawnOptions) =>
      spawnManaged(label, 'ip', inNs(name, command, args), env, spawnOptions),
    async run(name, command, args, env = {}) {
      try {
        const { stdout } = await execFileAsync('ip', inNs(name, command, args), {
          env: { ...process.env, ...env },
          timeout: 120_000,
        });
        return stdout;
      } catch (err) {
        const e = err as Error & { stdout?: string; stderr?: string };
        throw new Error(
          `${command} in ${ns(name)} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
          {
            cause: err,
          },
        );
      }
    },
    cut: async (name) => void (await ip(['-n', ns(SWITCH), 'link', 'set', `p-${name}`, 'down'])),
    restore: async (name) => void (await ip(['-n', ns(SWITCH), 'link', 'set', `p-${name}`, 'up'])),
    remove: () => sweepHostNetwork(prefix, stateDir),
  };

  await sweepHostNetwork(prefix, stateDir);
  await assertSubnetUnused(subnet);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    await ip(['netns', 'add', ns(SWITCH)]);
    await ip(['-n', ns(SWITCH), 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', ns(SWITCH), 'link', 'set', 'br0', 'up']);
    for (const name of Object.keys(hosts)) {
      await ip(['netns', 'add', ns(name)]);
      await ip(['-n', ns(name), 'link', 'set', 'lo', 'up']);
      // Both ends are created inside their namespaces: nothing ever appears in the root namespace.
      await ip([
        'link',
        'add',
        'eth0',
        'netns',
        ns(name),
        'type',
        'veth',
        'peer',
        'name',
        `p-${name}`,
        'netns',
        ns(SWITCH),
      ]);
      await ip(['-n', ns(SWITCH), 'link', 'set', `p-${name}`, 'master', 'br0', 'up']);
      for (const address of addresses(name)) {
        await ip(['-n', ns(name), 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      }
      await ip(['-n', ns(name), 'link', 'set', 'eth0', 'up']);
    }
  } catch (err) {
    await network.remove();
    throw err;
  }
  return network;
}
