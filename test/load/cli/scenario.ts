import { connectRealtime, RealtimeConnectError, type RealtimeClient } from '@concord/client';
import { errorKind, statusKind, type HttpAnswer, type HttpCall, type HttpClient } from './http-client';
import type { LoadOptions } from './options';
import type { Recorder } from './recorder';
import type { Target } from './target';
import type { PoolUser, Tokens, UserPool } from './user-pool';
import type { Iteration } from './workload';

/** What a scenario gets to work with. */
export interface ScenarioContext {
  options: LoadOptions;
  target: Target;
  http: HttpClient;
  recorder: Recorder;
  pool: UserPool;
  /** Short random id of this run: names its channels and settings keys. */
  runId: string;
  /** Aborted when in-flight work must stop now (drain time over, Ctrl-C). */
  signal: AbortSignal;
  now(): number;
  log(line: string): void;
  /**
   * Sends `call`, records `op` with the latency from `since` (an iteration's intended start for its
   * first request) and an outcome: ok when the status is in `expect`, else the status and problem
   * name, or the transport error. Returns the answer, or undefined when there was none.
   */
  call(op: string, since: number, call: HttpCall, expect: readonly number[]): Promise<HttpAnswer | undefined>;
  /** Opens a socket to the gateway for `token` from source address `source` (closed at the end). */
  socket(token: string, source: number): RealtimeClient;
}

/** A scenario ready to run. */
export interface PreparedScenario {
  iteration(it: Iteration): Promise<void>;
  /** After the last iteration: wait for stragglers, count what is missing or lost. */
  finish?(): Promise<void>;
  /** Always runs: sessions revoked, sockets closed, keys reset. */
  teardown?(): Promise<void>;
  /** Lines for the report (what was measured, how many users, …). */
  notes: string[];
  /**
   * How many users the iterations' authenticated HTTP requests are spread over (the per-user API
   * limit applies to each); absent when the iterations make none (logins, socket handshakes).
   */
  apiUsers?: number;
}

/** A scenario of `npm run load`. */
export interface ScenarioDefinition {
  name: string;
  /** One line for --help. */
  summary: string;
  prepare(ctx: ScenarioContext): Promise<PreparedScenario>;
}

/** The first request of an iteration counts from its intended start (never from the future). */
export const sinceIntended = (it: Iteration, now: number) => Math.min(it.intendedAt, now);

/**
 * A logged-in pool user whose access token is refreshed before it expires (runs may outlast the
 * 15-minute token). `refresh` is single-flight: concurrent users of one session share one rotation,
 * since a second presentation of a rotated refresh token would be a reuse.
 */
export class Session {
  token: string;
  sessionId: string;
  private refreshToken: string;
  private expiresAt: number;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly user: PoolUser,
    readonly source: number,
    tokens: Tokens,
    private readonly ctx: Pick<ScenarioContext, 'http' | 'now'>,
  ) {
    this.token = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.sessionId = tokens.session.session_id;
    this.expiresAt = ctx.now() + tokens.expires_in * 1000;
  }

  /** Replaces the session (after a new login). */
  replace(tokens: Tokens): void {
    this.token = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.sessionId = tokens.session.session_id;
    this.expiresAt = this.ctx.now() + tokens.expires_in * 1000;
  }

  /** A token valid for at least another minute. */
  async fresh(): Promise<string> {
    if (this.ctx.now() < this.expiresAt - 60_000) return this.token;
    this.refreshing ??= this.rotate().finally(() => (this.refreshing = undefined));
    await this.refreshing;
    return this.token;
  }

  private async rotate(): Promise<void> {
    const answer = await this.ctx.http.send({
      method: 'POST',
      path: '/api/v1/auth/refresh',
      body: { refresh_token: this.refreshToken },
      source: this.source,
    });
    if (answer.status !== 200) throw new Error(`refresh answered ${answer.status}`);
    this.replace(answer.body as Tokens);
  }

  /** Rotates now, timed as `op` (the mixed scenario's refresh). */
  async refreshNow(ctx: ScenarioContext, op: string, since: number): Promise<void> {
    const answer = await ctx.call(
      op,
      since,
      {
        method: 'POST',
        path: '/api/v1/auth/refresh',
        body: { refresh_token: this.refreshToken },
        source: this.source,
      },
      [200],
    );
    if (answer?.status === 200) this.replace(answer.body as Tokens);
  }
}

/** Logs every user in once (a few at a time: each login is an argon2 verification). */
export async function loginAll(ctx: ScenarioContext, users: PoolUser[]): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let i = 0; i < users.length; i += 8) {
    const batch = users.slice(i, i + 8);
    sessions.push(
      ...(await Promise.all(
        batch.map(async (u, k) => new Session(u, i + k, await ctx.pool.login(u, i + k), ctx)),
      )),
    );
  }
  return sessions;
}

/** Error kind of a refused or failed socket connect (`connect refused 5000 RATE_LIMITED`, …). */
export function connectErrorKind(err: unknown): string {
  if (err instanceof RealtimeConnectError) {
    return err.data ? `connect refused ${err.data.code} ${err.data.error}` : `connect failed: ${err.message}`;
  }
  return errorKind(err);
}

/** Waits for the socket to connect, or rejects after `timeoutMs`. */
export async function connected(client: RealtimeClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connected(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('connect timed out'), { code: 'timeout' })),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a socket for `token` and records `op` from `since`: the client once connected, or
 * undefined (recorded as an error, socket closed) when the handshake is refused or times out.
 */
export async function timedConnect(
  ctx: ScenarioContext,
  socket: { token: string; source: number; since: number; op?: string },
): Promise<RealtimeClient | undefined> {
  const op = socket.op ?? 'connect';
  const client = ctx.socket(socket.token, socket.source);
  try {
    await connected(client, ctx.options.timeoutMs);
    ctx.recorder.record(op, (ctx.now() - socket.since) * 1000, 'ok');
    return client;
  } catch (err) {
    ctx.recorder.record(op, (ctx.now() - socket.since) * 1000, connectErrorKind(err));
    client.close();
    return undefined;
  }
}

/** Builds the context's `call` and `socket` over `http` and `recorder`. */
export function contextCalls(base: {
  options: LoadOptions;
  target: Target;
  http: HttpClient;
  recorder: Recorder;
  signal: AbortSignal;
  now(): number;
  sources: (string | undefined)[];
  sockets: Set<RealtimeClient>;
}): Pick<ScenarioContext, 'call' | 'socket'> {
  return {
    async call(op, since, call, expect) {
      try {
        const answer = await base.http.send({ ...call, signal: call.signal ?? base.signal });
        base.recorder.record(
          op,
          (base.now() - since) * 1000,
          expect.includes(answer.status) ? 'ok' : statusKind(answer),
        );
        return answer;
      } catch (err) {
        base.recorder.record(op, (base.now() - since) * 1000, errorKind(err));
        return undefined;
      }
    },
    socket(token, source) {
      const localAddress = base.sources[source % base.sources.length];
      const client = connectRealtime({
        url: base.target.origin,
        token,
        ca: base.options.ca,
        ...(localAddress ? { localAddress } : {}),
        ackTimeoutMs: base.options.timeoutMs,
        // forceNew: socket.io-client would otherwise multiplex every socket to one origin over one
        // connection, and the storm would measure one handshake.
        socketOptions: { forceNew: true, reconnection: false, timeout: base.options.timeoutMs },
      });
      base.sockets.add(client);
      client.socket.on('disconnect', () => base.sockets.delete(client));
      return client;
    },
  };
}
