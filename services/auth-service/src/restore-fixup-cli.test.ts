import { runRestoreFixupCli } from './restore-fixup-cli';

const NOW = new Date('2026-12-01T10:00:00.000Z');

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

async function usage(argv: string[], env: Record<string, string> = {}) {
  const c = captured();
  const code = await runRestoreFixupCli(argv, env, c.io, () => NOW);
  return { code, err: c.err.join('\n') };
}

// Usage errors are decided before any connection is made: these never reach Postgres or Redis.
describe('restore-fixup usage', () => {
  it('when --restored-at is missing, exits 2 naming it', async () => {
    const { code, err } = await usage([]);
    expect(code).toBe(2);
    expect(err).toMatch(/--restored-at is required/);
  });

  it('when --restored-at has no offset, exits 2 (a local time would move the cut by hours)', async () => {
    const { code, err } = await usage(['--restored-at', '2026-12-01T09:00:00']);
    expect(code).toBe(2);
    expect(err).toMatch(/Z or an offset/);
  });

  it('when --restored-at lies in the future, exits 2 (it would end the logins made after the restore)', async () => {
    const { code, err } = await usage(['--restored-at', '2026-12-01T11:00:00Z']);
    expect(code).toBe(2);
    expect(err).toMatch(/future/);
  });

  it('when the environment is invalid, exits 2 naming the key', async () => {
    const { code, err } = await usage(['--restored-at', '2026-12-01T09:00:00Z'], {
      DATABASE_URL: 'mysql://somewhere/concord',
    });
    expect(code).toBe(2);
    expect(err).toMatch(/DATABASE_URL/);
  });

  it('with --help, prints the usage and exits 0', async () => {
    const c = captured();
    expect(await runRestoreFixupCli(['--help'], {}, c.io, () => NOW)).toBe(0);
    expect(c.out.join('\n')).toMatch(/--refresh-secret-file/);
  });
});
