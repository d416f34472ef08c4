import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { findNginx } from '../../proxy/gateway';

const execFileAsync = promisify(execFile);

/** The machine and software versions a result was measured on. */
export interface MachineInfo {
  hostname: string;
  nproc: number;
  cpuModel: string;
  ramGiB: number;
  kernel: string;
  /** 1-minute load average when the bench started: anything well above 0 means someone else was busy. */
  loadAverage1m: number;
  node: string;
  nginx: string;
  postgres: string;
  redis: string;
  wrk: string;
}

async function versionOf(cmd: string, args: string[], pattern: RegExp): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { timeout: 5_000 });
    return pattern.exec(stdout + stderr)?.[1] ?? 'unknown';
  } catch (err) {
    // wrk -v exits 1 after printing its version; the output is still on the error.
    const e = err as { stdout?: string; stderr?: string };
    return pattern.exec(`${e.stdout ?? ''}${e.stderr ?? ''}`)?.[1] ?? 'unknown';
  }
}

/** Server versions are asked from the servers themselves: the client binaries may differ. */
async function postgresVersion(databaseUrl: string): Promise<string> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function redisVersion(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

/**
 * Collects {@link MachineInfo}; `databaseUrl`/`redisUrl` are the stack's own (no database: a
 * scenario that uses none, whose PostgreSQL version reads "not used"). Pass the load average read
 * before the bench started anything, or its own start-up would show.
 */
export async function describeMachine(
  databaseUrl: string | undefined,
  redisUrl: string,
  loadAverage1m = os.loadavg()[0] ?? 0,
): Promise<MachineInfo> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    hostname: os.hostname(),
    nproc: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    loadAverage1m,
    node: process.version,
    nginx: await versionOf(findNginx(), ['-v'], /nginx\/(\S+)/),
    postgres: databaseUrl ? await postgresVersion(databaseUrl) : 'not used',
    redis: await redisVersion(redisUrl),
    wrk: await versionOf('wrk', ['-v'], /^wrk (\S+)/m),
  };
}
