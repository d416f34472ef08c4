import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { HttpClient } from './http-client';

/**
 * The scenarios' users. Creating a user costs an argon2 hash on the target, so a pool is created
 * once per target and remembered in a state file (mode 0600: it holds the pool's password and, for
 * a stack this tool set up, the ceo's), then reused by every later run; a run only creates the
 * users it lacks. A state file whose users no longer log in (the stack was reset) is replaced by a
 * fresh pool under a new prefix.
 */

/** Roles the pool hands out: `member` for readers and sockets, `manager` for writers/publishers. */
export type PoolRole = 'member' | 'manager';

/** One user of the pool. */
export interface PoolUser {
  username: string;
  id: string;
  password: string;
  role: PoolRole;
}

/** A logged-in session. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  session: { session_id: string; user_id: string };
}

const stateSchema = z.object({
  version: z.literal(1),
  target: z.string(),
  prefix: z.string(),
  password: z.string(),
  admin: z.object({ username: z.string(), password: z.string() }).optional(),
  users: z.object({
    member: z.array(z.object({ username: z.string(), id: z.string() })),
    manager: z.array(z.object({ username: z.string(), id: z.string() })),
  }),
});
type PoolState = z.infer<typeof stateSchema>;

/** A failure the run cannot continue after (printed without a stack trace). */
export class RunError extends Error {
  override name = 'RunError';
}

/** Options of {@link openUserPool}. */
export interface UserPoolOptions {
  http: HttpClient;
  /** The target URL as given (keys the state file). */
  target: string;
  loopback: boolean;
  stateDir: string;
  admin?: { username: string; password: string };
  log(line: string): void;
}

/** The pool; see the file comment. */
export interface UserPool {
  /** An access token of a ceo (logs in once). */
  adminToken(): Promise<string>;
  /** `count` users of `role`, creating the missing ones. */
  users(role: PoolRole, count: number): Promise<PoolUser[]>;
  /** Logs `user` in from source address `source`. */
  login(user: PoolUser, source: number): Promise<Tokens>;
  /** Revokes every session of `users` (the ceo's `DELETE /users/{id}/sessions`). */
  revokeSessions(users: PoolUser[]): Promise<void>;
}

function freshState(target: string, admin?: PoolState['admin']): PoolState {
  return {
    version: 1,
    target,
    prefix: `load-${randomBytes(4).toString('hex')}`,
    password: randomBytes(18).toString('base64url'),
    ...(admin ? { admin } : {}),
    users: { member: [], manager: [] },
  };
}

/** Opens (or starts) the pool of `target`. */
export async function openUserPool(o: UserPoolOptions): Promise<UserPool> {
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(
    o.stateDir,
    `pool-${createHash('sha256').update(o.target).digest('hex').slice(0, 16)}.json`,
  );
  let state = readState(file, o.target) ?? freshState(o.target);
  const save = () => {
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  };

  const login = async (username: string, password: string, source = 0) => {
    const answer = await o.http.send({
      method: 'POST',
      path: '/api/v1/auth/login',
      body: { username, password },
      source,
    });
    return answer;
  };

  // A remembered pool whose first user no longer logs in belongs to a stack that was reset.
  const first = state.users.member[0] ?? state.users.manager[0];
  if (first) {
    const answer = await login(first.username, state.password);
    if (answer.status === 401) {
      o.log(`the remembered pool ${state.prefix} is gone from the target; starting a new one`);
      state = freshState(o.target, state.admin);
    } else if (answer.status !== 200) {
      throw new RunError(`login of pool user ${first.username} answered ${answer.status}`);
    }
  }

  let adminToken: Promise<string> | undefined;
  const admin = async (): Promise<string> => {
    const creds = o.admin ?? state.admin;
    if (creds) {
      const answer = await login(creds.username, creds.password);
      if (answer.status === 200) return (answer.body as Tokens).access_token;
      if (!o.admin && answer.status === 401)
        state.admin = undefined; // the stack was reset
      else throw new RunError(`admin login as ${creds.username} answered ${answer.status}`);
    }
    // No credentials: only an empty loopback stack may be set up by this tool.
    if (!o.loopback) {
      throw new RunError('this scenario creates users: give --admin-user and --admin-password of a ceo');
    }
    const generated = { username: `${state.prefix}-ceo`, password: randomBytes(18).toString('base64url') };
    const setup = await o.http.send({ method: 'POST', path: '/api/v1/auth/setup', body: generated });
    if (setup.status === 409) {
      throw new RunError(
        'the target already has users: give --admin-user and --admin-password of a ceo to create the pool',
      );
    }
    if (setup.status !== 201) throw new RunError(`setup answered ${setup.status}`);
    state.admin = generated;
    save();
    o.log(`set up the empty stack with ceo ${generated.username} (remembered in ${file})`);
    const answer = await login(generated.username, generated.password);
    if (answer.status !== 200) throw new RunError(`login of the new ceo answered ${answer.status}`);
    return (answer.body as Tokens).access_token;
  };

  return {
    adminToken: () => (adminToken ??= admin()),
    async users(role, count) {
      const have = state.users[role];
      if (have.length < count) {
        const token = await (adminToken ??= admin());
        o.log(`creating ${count - have.length} ${role} users of pool ${state.prefix}`);
        // A few at a time: each creation is an argon2 hash on the target.
        for (let i = have.length; i < count; i += 4) {
          const batch = Array.from({ length: Math.min(4, count - i) }, (_, k) => i + k);
          const created = await Promise.all(
            batch.map(async (n) => {
              const username = `${state.prefix}-${role}-${n}`;
              const answer = await o.http.send({
                method: 'POST',
                path: '/api/v1/users',
                token,
                body: { username, password: state.password, role },
              });
              if (answer.status !== 201) {
                throw new RunError(
                  `creating ${username} answered ${answer.status}: ${JSON.stringify(answer.body)}`,
                );
              }
              return { username, id: (answer.body as { id: string }).id };
            }),
          );
          have.push(...created);
          save();
        }
      }
      return have.slice(0, count).map((u) => ({ ...u, password: state.password, role }));
    },
    async login(user, source) {
      const answer = await login(user.username, user.password, source);
      if (answer.status !== 200) throw new RunError(`login of ${user.username} answered ${answer.status}`);
      return answer.body as Tokens;
    },
    async revokeSessions(users) {
      const token = await (adminToken ??= admin());
      for (let i = 0; i < users.length; i += 8) {
        await Promise.all(
          users
            .slice(i, i + 8)
            .map((u) => o.http.send({ method: 'DELETE', path: `/api/v1/users/${u.id}/sessions`, token })),
        );
      }
    },
  };
}

function readState(file: string, target: string): PoolState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // first run against this target
  }
  const parsed = stateSchema.safeParse(JSON.parse(text));
  if (!parsed.success || parsed.data.target !== target) {
    throw new RunError(`${file} is not a pool state file of ${target}; move it away to start a new pool`);
  }
  return parsed.data;
}
