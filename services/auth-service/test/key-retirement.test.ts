import { readFile } from 'node:fs/promises';
import { decodeProtectedHeader } from 'jose';
import { generateSigningKey, type KeyFile } from '../src/domain/key-rotation';
import { writeKeyFile } from '../src/data-access/key-ring';
import { PASSWORD, startAuthHarness, type AuthHarness } from './support/auth-harness';

// The replicas poll the key file every 2 s; a generous bound for the reload to show in the JWKS.
const RELOAD_DEADLINE_MS = 15_000;

let h: AuthHarness;

beforeAll(async () => {
  h = await startAuthHarness();
});
afterAll(async () => {
  await h.cleanup();
});

async function publishedKids(): Promise<string[]> {
  const res = await h.client().request<{ keys: { kid: string }[] }>('GET', '/.well-known/jwks.json');
  return res.body.keys.map((k) => k.kid);
}

async function until(condition: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('signing-key retirement on a live replica', () => {
  it('when the key of a token verified before is retired, refuses that token on its next use', async () => {
    const ceo = await h.ceo('retire.ceo', PASSWORD);
    const token = ceo.accessToken!;
    const { kid } = decodeProtectedHeader(token);
    expect((await h.client().request('GET', '/api/v1/auth/me', { token })).status).toBe(200);

    // An emergency retirement: a fresh active key signs from now on, the token's key is retired.
    const now = new Date();
    const current = JSON.parse(await readFile(h.keyFile, 'utf8')) as KeyFile;
    const keys = current.keys.map((k) =>
      k.kid === kid ? { ...k, status: 'retired' as const, retired_at: now.toISOString() } : k,
    );
    await writeKeyFile(h.keyFile, { keys: [...keys, await generateSigningKey('active', now)] });
    await until(async () => !(await publishedKids()).includes(kid!), RELOAD_DEADLINE_MS);

    const res = await h.client().request('GET', '/api/v1/auth/me', { token });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 1000, error: 'UNAUTHORIZED' });
  });
});
