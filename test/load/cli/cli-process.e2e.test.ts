import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFakeGateway, type FakeGateway } from './test-support/fake-gateway';

/**
 * `npm run load` as a user runs it: compiled, in its own process, judged by its exit code and the
 * files it leaves (the in-process tests cover the scenarios themselves).
 */
const ROOT = path.resolve(__dirname, '../../..');
const exec = promisify(execFile);
jest.setTimeout(180_000);

/** Runs `npm run load -- <args>`; resolves with the exit code and output, whatever the code. */
async function npmLoad(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npm', ['run', '--silent', 'load', '--', ...args], {
      cwd: ROOT,
      timeout: 150_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let fake: FakeGateway;
beforeAll(async () => {
  fake = await startFakeGateway();
});
afterAll(() => fake.close());

it('--help exits 0 and lists every scenario and the exit codes', async () => {
  const { code, stdout } = await npmLoad(['--help']);

  expect(code).toBe(0);
  for (const name of [
    'login-storm',
    'me',
    'settings-cas',
    'settings-hot',
    'realtime-connect',
    'fanout-shared',
    'fanout-user',
    'presence-churn',
    'revocation-storm',
    'mixed',
  ]) {
    expect(stdout).toContain(name);
  }
  expect(stdout).toMatch(/Exit codes: 0 .* 2 .* 1 .* 64 .* 130/s);
});

it('a missed --slo exits 2 and still writes the JSON and HTML reports', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'concord-load-cli-'));
  const state = mkdtempSync(path.join(tmpdir(), 'concord-load-cli-state-'));

  const { code, stderr } = await npmLoad([
    'me',
    '--target',
    fake.url,
    '--users',
    '2',
    '--rate',
    '20',
    '--duration',
    '1s',
    '--slo',
    'p99<1us',
    '--out',
    out,
    '--state-dir',
    state,
    '--progress',
    'never',
  ]);

  expect(code).toBe(2);
  expect(stderr).toMatch(/SLO p99<1us: MISSED/);
  const files = readdirSync(out).sort();
  expect(files).toEqual([expect.stringMatching(/^me-.*\.html$/), expect.stringMatching(/^me-.*\.json$/)]);
  const result = JSON.parse(readFileSync(path.join(out, files[1]!), 'utf8')) as {
    passed: boolean;
    summary: { requests: number };
  };
  expect(result.passed).toBe(false);
  expect(result.summary.requests).toBeGreaterThan(0);
});

// The loopback guard itself is tested without any traffic (target.test.ts): a process test that
// names a non-loopback address would send load there if the guard ever broke.
it('bad usage exits 64 with a hint', async () => {
  const { code, stderr } = await npmLoad(['me', '--duration', '1s']);

  expect(code).toBe(64);
  expect(stderr).toMatch(/--target <url> is required/);
});
