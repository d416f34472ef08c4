import {
  AppError,
  type Authenticator,
  type ClientIpResolver,
  type Clock,
  type Logger,
} from '@concord/common';
import type { ExtendedError } from 'socket.io';
import type { PresenceTracker } from '../domain/presence-tracker';
import { errorPayload } from './ack-errors';
import type { RealtimeSocket } from './socket-types';

/** Dependencies of {@link handshakeMiddleware}. */
export interface HandshakeDeps {
  authenticator: Authenticator;
  resolveClientIp: ClientIpResolver;
  presence: PresenceTracker;
  maxSocketsPerUser: number;
  clock: Clock;
  logger: Logger;
  isDraining: () => boolean;
}

function handshakeToken(socket: RealtimeSocket): string | undefined {
  const auth: unknown = socket.handshake.auth;
  if (typeof auth !== 'object' || auth === null) return undefined;
  const token = (auth as { token?: unknown }).token;
  return typeof token === 'string' ? token : undefined;
}

/**
 * The Socket.IO handshake (DESIGN.md section 6): `auth: {token}` checked by the same authenticator
 * as HTTP (signature, claims, 8 KiB cap, revocation, lease), the client address resolved by the
 * same trusted-proxy rules (the handshake never passes through express), then the cluster-wide
 * socket cap reserved atomically with the presence entry. A refusal carries `{code, error, detail}`
 * in `err.data`.
 */
export function handshakeMiddleware(deps: HandshakeDeps) {
  const { logger } = deps;

  async function admit(socket: RealtimeSocket): Promise<void> {
    if (deps.isDraining()) {
      throw new AppError('SERVICE_UNAVAILABLE', 'This node is shutting down; reconnect to another');
    }
    const auth = await deps.authenticator.authenticate(handshakeToken(socket));
    // The bearer token is not needed past this point (auth:refresh brings its own): socket.io would
    // keep it in `handshake.auth` for the socket's life, a credential in memory and ~0.6 KiB per
    // socket in the realtime benchmark's heap snapshot (docs/benchmarks.md).
    socket.handshake.auth = {};
    // The verifier tolerates clock skew past exp; a socket may not start a life it would lose at once.
    if (auth.exp * 1000 <= deps.clock.now())
      throw new AppError('UNAUTHORIZED', 'The access token has expired');
    const peer = socket.request.socket;
    const client = deps.resolveClientIp(
      peer.remoteAddress ?? '',
      socket.request.headers,
      'encrypted' in peer && peer.encrypted === true,
    );
    socket.data = {
      userId: auth.sub,
      sid: auth.sid,
      role: auth.role,
      exp: auth.exp,
      clientIp: client.ip,
      channels: new Set(),
    };
    const reserved = await deps.presence.track(socket.id, auth.sub);
    if (reserved === 'full') {
      logger.warn({ user_id: auth.sub, client_ip: client.ip }, 'socket refused: per-user socket cap reached');
      throw new AppError('RATE_LIMITED', `At most ${deps.maxSocketsPerUser} connections per user`);
    }
    // The client may have gone while we waited: socket.io then never connects the socket, so no
    // disconnect handler would release the reservation.
    const release = () => {
      deps.presence
        .untrack(socket.id)
        .catch((err: unknown) => logger.warn({ err }, 'presence release failed'));
    };
    if (socket.conn.readyState !== 'open') release();
    else socket.conn.once('close', () => (deps.isDraining() ? undefined : release()));
  }

  return (socket: RealtimeSocket, next: (err?: ExtendedError) => void): void => {
    admit(socket).then(
      () => next(),
      (err: unknown) => {
        const data = errorPayload(err, logger, 'socket handshake');
        if (data.code !== 5000) {
          logger.info({ code: data.code, detail: data.detail }, 'socket handshake refused');
        }
        next(Object.assign(new Error(data.detail), { data }));
      },
    );
  };
}
