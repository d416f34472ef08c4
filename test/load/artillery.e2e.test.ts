import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAllServicesStack, type AllServicesStack } from '../support/all-services-stack';

/**
 * The Artillery scenario files (test/load/artillery, their own package outside the root
 * workspaces and lockfile) run once each against a private stack with every service behind a
 * private nginx. Artillery is installed on demand with `npm ci --ignore-scripts`: it must install
 * from the npm registry alone, with no install script fetching anything (Playwright's browser
 * download among them). Asserted: each run completes its virtual users without a failed
 * expectation, never a performance figure.
 */
const run = promisify(execFile);
const DIR = path.join(__dirname, 'artillery');
const ARTILLERY = path.join(DIR, 'node_modules/artillery/bin/run');
jest.setTimeout(900_000);

/** npm ci when node_modules is missing or older than the lockfile (npm ci rewrites .package-lock.json). */
async function ensureInstalled(): Promise<void> {
  const marker = path.join(DIR, 'node_modules/.package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(path.join(DIR, 'package-lock.json')).mtimeMs)
    return;
  await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: DIR, timeout: 600_000 });
}

let stack: AllServicesStack;
let users: string;
const ADMIN = { username: 'artillery-e2e-ceo', password: 'correct horse battery staple' };
const env = () => ({
  ...process.env,
  NODE_EXTRA_CA_CERTS: stack.caFile,
  ARTILLERY_DISABLE_TELEMETRY: 'true',
  CONCORD_ADMIN_USER: ADMIN.username,
  CONCORD_ADMIN_PASSWORD: ADMIN.password,
});

it('the packages of the lockfile with install scripts are the reviewed ones, none needed here (--ignore-scripts)', () => {
  const lock = JSON.parse(readFileSync(path.join(DIR, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const withScripts = Object.entries(lock.packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([name]) => name.replace(/^node_modules\//, ''));

  // Playwright's browser download (Artillery's browser engine, unused), aws-sdk's end-of-support
  // notice, protobufjs' version check, unix-dgram's native build (statsd over a Unix socket, unused).
  expect(withScripts.sort()).toEqual(['@playwright/browser-chromium', 'aws-sdk', 'protobufjs', 'unix-dgram']);
});

describe('against a private stack', () => {
  beforeAll(async () => {
    await ensureInstalled();
    stack = await startAllServicesStack();
    await stack.setup(ADMIN);
    users = mkdtempSync(path.join(tmpdir(), 'concord-artillery-'));
    await run(
      process.execPath,
      [
        path.join(DIR, 'prepare-users.js'),
        '--target',
        stack.gatewayUrl,
        '--members',
        '6',
        '--managers',
        '2',
        '--out',
        users,
      ],
      { env: env(), timeout: 60_000 },
    );
  });
  afterAll(() => stack?.cleanup());

  interface ArtilleryReport {
    aggregate: { counters: Record<string, number> };
  }

  /** Runs one scenario file for 3 s at 2 new virtual users per second; resolves with its JSON report. */
  async function artillery(file: string, payload: 'members' | 'managers') {
    const output = path.join(users, `${path.basename(file, '.yml')}.json`);
    const overrides = { config: { phases: [{ duration: 3, arrivalRate: 2 }] } };
    const result = await run(
      process.execPath,
      [
        ARTILLERY,
        'run',
        '--target',
        stack.gatewayUrl,
        '--output',
        output,
        '--overrides',
        JSON.stringify(overrides),
        '--payload',
        path.join(users, `${payload}.csv`),
        path.join(DIR, 'scenarios', file),
      ],
      { env: env(), timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`artillery ${file} failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    const report = JSON.parse(readFileSync(output, 'utf8')) as ArtilleryReport;
    return { report, stdout: result.stdout };
  }

  it.each([
    ['me.yml', 'members'],
    ['login-storm.yml', 'members'],
    ['revocation.yml', 'members'],
    ['settings-cas.yml', 'managers'],
    ['realtime.yml', 'members'],
  ] as const)('%s completes every virtual user without a failed expectation', async (file, payload) => {
    const { report } = await artillery(file, payload);

    const c = report.aggregate.counters;
    expect(c['vusers.failed'] ?? 0).toBe(0);
    expect(c['vusers.completed']).toBeGreaterThan(0);
    expect(Object.keys(c).filter((k) => k.startsWith('errors.'))).toEqual([]);
  });
});
