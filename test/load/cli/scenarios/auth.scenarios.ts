import { loginAll, sinceIntended, type ScenarioDefinition } from '../scenario';

/**
 * Login storm: pool users log in over and over, each login from the next of the client source
 * addresses, so the run measures logins (argon2 verification, session insert) rather than nginx's
 * per-address credential limit. The sessions it creates are revoked at the end.
 */
export const loginStorm: ScenarioDefinition = {
  name: 'login-storm',
  summary: 'POST /auth/login by a pool of users, spread over many client source addresses',
  async prepare(ctx) {
    const users = await ctx.pool.users('member', ctx.options.users);
    const sources = ctx.http.sourceCount;
    return {
      notes: [
        `${users.length} pool users log in round robin from ${sources} source address(es)`,
        ...(sources === 1 && ctx.options.users > 1
          ? ['one source address only: nginx limits logins per address, so this measures that limit too']
          : []),
      ],
      async iteration(it) {
        const user = users[it.n % users.length]!;
        await ctx.call(
          'login',
          sinceIntended(it, ctx.now()),
          {
            method: 'POST',
            path: '/api/v1/auth/login',
            body: { username: user.username, password: user.password },
            source: it.n,
          },
          [200],
        );
      },
      teardown: () => ctx.pool.revokeSessions(users),
    };
  },
};

/** Authenticated reads: `GET /auth/me` with the sessions of `--users` pool users. */
export const authenticatedReads: ScenarioDefinition = {
  name: 'me',
  summary: 'GET /auth/me with the access tokens of logged-in pool users',
  async prepare(ctx) {
    const users = await ctx.pool.users('member', ctx.options.users);
    const sessions = await loginAll(ctx, users);
    return {
      notes: [`${sessions.length} sessions, each reading from its own source address`],
      apiUsers: sessions.length,
      async iteration(it) {
        const session = sessions[it.n % sessions.length]!;
        const token = await session.fresh();
        await ctx.call(
          'me',
          sinceIntended(it, ctx.now()),
          { method: 'GET', path: '/api/v1/auth/me', token, source: session.source },
          [200],
        );
      },
      teardown: () => ctx.pool.revokeSessions(users),
    };
  },
};
