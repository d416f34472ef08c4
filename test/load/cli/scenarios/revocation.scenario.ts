import type { RealtimeClient } from '@concord/client';
import { errorKind, statusKind } from '../http-client';
import {
  connectErrorKind,
  connected,
  loginAll,
  sinceIntended,
  type ScenarioContext,
  type ScenarioDefinition,
  type Session,
  timedConnect,
} from '../scenario';

/**
 * Revocation storm. Every pool user holds a session that an HTTP reader uses back to back
 * (`GET /auth/me`) and a socket; each iteration revokes one of those sessions (`POST /auth/logout`)
 * while they are in use. DESIGN.md section 4: once the revoke has answered, the token is refused
 * everywhere. So any 200 to a request *sent after* the 204 arrived, and any socket handshake
 * accepted with the revoked token, is counted as the error `revoked token accepted`; a socket of
 * the session still open `--timeout` after the 204 is an error too. The user then logs in again
 * and its reader and socket go on with the new session.
 */
interface Actor {
  session: Session;
  socket?: RealtimeClient;
  /** Access tokens whose revoke was sent, and when (ms). */
  revoking: Map<string, number>;
  /** Access tokens whose revoke answered 204, and when (ms). */
  revoked: Map<string, number>;
  busy: boolean;
  ready: Promise<void>;
  release(): void;
}

async function openSocket(ctx: ScenarioContext, actor: Actor, since: number) {
  actor.socket = await timedConnect(ctx, { token: actor.session.token, source: actor.session.source, since });
}

export const revocationStorm: ScenarioDefinition = {
  name: 'revocation-storm',
  summary:
    'revoke sessions while their HTTP readers and sockets are busy; any acceptance after the 204 is an error',
  async prepare(ctx) {
    const users = await ctx.pool.users('member', ctx.options.users);
    const sessions = await loginAll(ctx, users);
    const actors: Actor[] = sessions.map((session) => ({
      session,
      revoking: new Map(),
      revoked: new Map(),
      busy: false,
      ready: Promise.resolve(),
      release: () => undefined,
    }));
    for (const a of actors) await openSocket(ctx, a, ctx.now());

    let running = true;
    const reader = async (actor: Actor) => {
      while (running) {
        await actor.ready;
        if (!running) return;
        const token = actor.session.token;
        const sentAt = ctx.now();
        try {
          const answer = await ctx.http.send({
            method: 'GET',
            path: '/api/v1/auth/me',
            token,
            source: actor.session.source,
            signal: ctx.signal,
          });
          const latencyUs = (ctx.now() - sentAt) * 1000;
          const revokedAt = actor.revoked.get(token);
          if (revokedAt !== undefined && revokedAt <= sentAt) {
            // Sent after the revoke answered: must be refused.
            if (answer.status === 200) ctx.recorder.record('me', latencyUs, 'revoked token accepted');
            else
              ctx.recorder.record(
                'me (revoked token)',
                latencyUs,
                answer.status === 401 ? 'ok' : statusKind(answer),
              );
          } else if (answer.status === 200) {
            ctx.recorder.record('me', latencyUs, 'ok');
          } else if (answer.status === 401 && actor.revoking.has(token)) {
            // Raced the revoke (sent before its answer): a refusal is allowed, not required.
            ctx.recorder.record('me (revoked token)', latencyUs, 'ok');
          } else {
            ctx.recorder.record('me', latencyUs, statusKind(answer));
          }
        } catch (err) {
          if (!running) return;
          ctx.recorder.record('me', (ctx.now() - sentAt) * 1000, errorKind(err));
        }
      }
    };
    const readers = actors.map((a) => reader(a));

    return {
      notes: [
        `${actors.length} sessions, each with a back-to-back GET /auth/me reader and a socket`,
        'iterations revoke one session each (POST /auth/logout), then log that user in again',
      ],
      async iteration(it) {
        const start = it.n % actors.length;
        const actor = [...actors.slice(start), ...actors.slice(0, start)].find((a) => !a.busy);
        if (!actor) {
          ctx.recorder.count('iterations skipped (every session busy)');
          return;
        }
        actor.busy = true;
        try {
          const oldToken = actor.session.token;
          const socket = actor.socket;
          const cut = socket
            ? new Promise<number>((resolve) => socket.socket.once('disconnect', () => resolve(ctx.now())))
            : undefined;
          let sawRevokedEvent = false;
          socket?.on('session:revoked', () => (sawRevokedEvent = true));
          const since = sinceIntended(it, ctx.now());
          actor.revoking.set(oldToken, since);
          const answer = await ctx.call(
            'revoke',
            since,
            { method: 'POST', path: '/api/v1/auth/logout', token: oldToken, source: actor.session.source },
            [204],
          );
          if (answer?.status !== 204) return;
          const answeredAt = ctx.now();
          actor.revoked.set(oldToken, answeredAt);
          // Hold the reader until the new session exists, so it does not spin on 401s.
          actor.ready = new Promise<void>((resolve) => (actor.release = resolve));

          // HTTP requests with the revoked token sent after the 204 must be refused: two, from
          // different source addresses, so that with several replicas more than one is asked.
          await Promise.all(
            [0, 1].map(async (k) => {
              const sentAt = ctx.now();
              try {
                const probe = await ctx.http.send({
                  method: 'GET',
                  path: '/api/v1/auth/me',
                  token: oldToken,
                  source: it.n + k,
                  signal: ctx.signal,
                });
                const outcome =
                  probe.status === 401
                    ? 'ok'
                    : probe.status === 200
                      ? 'revoked token accepted'
                      : statusKind(probe);
                ctx.recorder.record('me (revoked token)', (ctx.now() - sentAt) * 1000, outcome);
              } catch (err) {
                ctx.recorder.record('me (revoked token)', (ctx.now() - sentAt) * 1000, errorKind(err));
              }
            }),
          );

          // A handshake with the revoked token after the 204 must be refused.
          const probe = ctx.socket(oldToken, it.n);
          try {
            await connected(probe, ctx.options.timeoutMs);
            ctx.recorder.record(
              'handshake (revoked token)',
              (ctx.now() - answeredAt) * 1000,
              'revoked token accepted',
            );
          } catch (err) {
            const kind = connectErrorKind(err);
            ctx.recorder.record(
              'handshake (revoked token)',
              (ctx.now() - answeredAt) * 1000,
              /^connect refused 100[02] /.test(kind) ? 'ok' : kind,
            );
          } finally {
            probe.close();
          }

          if (cut) {
            let timer: NodeJS.Timeout | undefined;
            const cutAt = await Promise.race([
              cut,
              new Promise<undefined>(
                (resolve) => (timer = setTimeout(() => resolve(undefined), ctx.options.timeoutMs)),
              ),
            ]);
            clearTimeout(timer);
            if (cutAt === undefined)
              ctx.recorder.record('socket cut', ctx.options.timeoutMs * 1000, 'revoked socket still open');
            else ctx.recorder.record('socket cut', (cutAt - since) * 1000, 'ok');
            if (sawRevokedEvent) ctx.recorder.count('session:revoked events');
            socket!.close();
            actor.socket = undefined;
          }

          const login = await ctx.call(
            'login',
            ctx.now(),
            {
              method: 'POST',
              path: '/api/v1/auth/login',
              body: { username: actor.session.user.username, password: actor.session.user.password },
              source: actor.session.source,
            },
            [200],
          );
          if (login?.status === 200) {
            actor.session.replace(login.body as Parameters<Session['replace']>[0]);
            await openSocket(ctx, actor, ctx.now());
          }
        } finally {
          actor.release();
          actor.busy = false;
        }
      },
      async finish() {
        running = false;
        await Promise.all(readers);
      },
      async teardown() {
        running = false;
        for (const a of actors) {
          a.release();
          a.socket?.close();
        }
        await ctx.pool.revokeSessions(users);
      },
    };
  },
};
