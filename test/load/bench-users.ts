import type { ConcordClient, Role } from '@concord/client';

/** Options of {@link benchTokens}. */
export interface BenchTokensOptions {
  /** A client logged in as `username` (the set-up CEO), which creates the other users. */
  admin: ConcordClient;
  /** A fresh client for each other user's login. */
  client(): ConcordClient;
  username: string;
  password: string;
  /** `admin`'s access token: the first of the result. */
  token: string;
  count: number;
  role?: Role;
}

/**
 * Access tokens of `count` users for one throughput run, one per wrk thread: the set-up user's
 * own, then users it creates (`<username>.2`, …, role `role`, CEO by default, so every token may
 * read what the first may) and logs in. The per-user API limit (at most 10,000 requests per second,
 * DESIGN.md section 5) counts each user apart, as it does for real clients: with every thread
 * sending one user's token, the limit would answer 429 before the replicas ran out of CPU.
 */
export async function benchTokens(o: BenchTokensOptions): Promise<string[]> {
  const tokens = [o.token];
  for (let i = 2; i <= o.count; i++) {
    const username = `${o.username}.${i}`;
    await o.admin.createUser(username, o.password, o.role ?? 'ceo');
    const client = o.client();
    try {
      tokens.push((await client.login(username, o.password)).access_token);
    } finally {
      client.close();
    }
  }
  return tokens;
}
