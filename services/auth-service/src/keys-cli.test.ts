import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeyFile, writeKeyFile } from './data-access/key-ring';
import { planInit, promote } from './domain/key-rotation';
import { runKeysCli } from './keys-cli';

const MINUTE = 60_000;
const T0 = new Date('2026-03-01T00:00:00.000Z');

function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('keys-cli retire', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keys-cli-'));
    file = join(dir, 'jwt-keys.json');
    // Two active keys: the first signed until the rotation at T0 + 12 min promoted the second.
    const initial = await planInit(T0);
    await writeKeyFile(file, { keys: promote(initial.keys, at(12 * MINUTE), 0) });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function statuses(): Promise<string[]> {
    return (await readKeyFile(file)).keys.map((k) => k.status);
  }

  it('refuses to retire a key whose tokens verifiers may still accept under the default JWT_MAX_ACCESS_TTL_SECONDS', async () => {
    const { err, io } = captured();

    // 30 minutes after the rotation: a token signed just before it may live 60 min (the default bound).
    const code = await runKeysCli(['retire', '--file', file], {}, io, () => at(42 * MINUTE));

    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/may be valid until 2026-03-01T01:13:00\.000Z/);
    expect(await statuses()).toEqual(['active', 'active']);
  });

  it('retires once JWT_MAX_ACCESS_TTL_SECONDS plus the clock tolerance have passed since the rotation', async () => {
    const { io } = captured();
    const env = { JWT_MAX_ACCESS_TTL_SECONDS: '600', JWT_CLOCK_TOLERANCE_SECONDS: '30' };

    const early = await runKeysCli(['retire', '--file', file], env, io, () => at((12 + 10) * MINUTE));
    const late = await runKeysCli(['retire', '--file', file], env, io, () => at((12 + 11) * MINUTE));

    expect([early, late]).toEqual([1, 0]);
    expect(await statuses()).toEqual(['retired', 'active']);
  });

  it('refuses an invalid JWT_MAX_ACCESS_TTL_SECONDS instead of guessing a retirement time', async () => {
    const { err, io } = captured();

    const code = await runKeysCli(
      ['retire', '--file', file],
      { JWT_MAX_ACCESS_TTL_SECONDS: 'soon' },
      io,
      () => at(600 * MINUTE),
    );

    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/JWT_MAX_ACCESS_TTL_SECONDS/);
    expect(await statuses()).toEqual(['active', 'active']);
  });
});
