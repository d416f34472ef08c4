// Every service's process entry (main.ts → libs/common runService), from the built dist/ (npm run
// build first): a bad environment stops the process before anything starts, with one message that
// names every bad key (DESIGN.md section 7). Services are found by glob, so a new one is covered too.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const MAINS = readdirSync(path.join(ROOT, 'services'))
  .map((name) => ({ name, main: path.join(ROOT, 'services', name, 'dist', 'main.js') }))
  .filter(({ main }) => existsSync(main));

function run(main: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    // Only PATH from the test's environment: a developer's DATABASE_URL or PORT must not leak in.
    execFile(
      process.execPath,
      [main],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

it('finds the built services', () => {
  expect(MAINS.map((m) => m.name)).toEqual(
    expect.arrayContaining(['auth-service', 'realtime-service', 'settings-service']),
  );
});

describe.each(MAINS)('$name', ({ main }) => {
  it('when the environment has two bad keys, exits 1 with one message naming both and no stack trace', async () => {
    const result = await run(main, { PORT: 'not-a-port', TRUSTED_PROXIES: '0.0.0.0/0' });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Invalid configuration:/);
    expect(result.stderr).toMatch(/^ {2}- PORT: /m);
    expect(result.stderr).toMatch(/^ {2}- TRUSTED_PROXIES: /m);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).toBe('');
  });
});
