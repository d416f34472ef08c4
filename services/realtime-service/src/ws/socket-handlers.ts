import type { RealtimeAck } from '@concord/client';
import type { Authenticator, Clock, Logger } from '@concord/common';
import {
  checkSubscribe,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
  redactChannel,
  targetOf,
  type ChannelDenial,
} from '../domain/channel-policy';
import type { PresenceStore } from '../domain/presence.ports';
import { createTokenBucket } from '../domain/token-bucket';
import { errorAck, errorPayload } from './ack-errors';
import type { RealtimeSocket } from './socket-types';

/** Per-socket event budget (token bucket) and when a flood ends the connection. */
export interface EventLimits {
  eventsPerSecond: number;
  burst: number;
  /** Consecutive refused events after which the socket is disconnected with 5000. */
  floodDisconnectAfter: number;
}

/** Dependencies of {@link attachSocketHandlers}. */
export interface SocketHandlerDeps {
  authenticator: Authenticator;
  presence: Pick<PresenceStore, 'list'>;
  limits: EventLimits;
  clock: Clock;
  logger: Logger;
  onDenied(reason: ChannelDenial | 'cap' | 'refresh'): void;
  onFlood(): void;
  onSubscriptionsChanged(delta: number): void;
  /** Cuts the socket with `connection:closing` first. */
  cut(socket: RealtimeSocket, code: 'UNAUTHORIZED' | 'RATE_LIMITED', detail: string): void;
  /** Re-arms the expiry timer after a refresh moved `exp`. */
  rescheduleExpiry(socket: RealtimeSocket): void;
}

const DENIAL_ACK: Record<ChannelDenial, RealtimeAck> = {
  'invalid-name': errorAck('VALIDATION_ERROR', 'Channel names match ^[a-z0-9][a-z0-9:._-]{0,127}$'),
  forbidden: errorAck('FORBIDDEN', 'You may not subscribe to this channel'),
};

type Ack = (answer: RealtimeAck) => void;

/** The client events of DESIGN.md section 6 on one connected socket. */
export function attachSocketHandlers(socket: RealtimeSocket, deps: SocketHandlerDeps): void {
  const { logger, limits } = deps;
  const data = socket.data;
  const bucket = createTokenBucket({
    ratePerSecond: limits.eventsPerSecond,
    burst: limits.burst,
    now: () => deps.clock.monotonic(),
  });
  let refusedInARow = 0;

  // Every incoming event spends a token, acknowledged or not; a flood is answered, then cut.
  socket.use((packet, next) => {
    if (refusedInARow >= limits.floodDisconnectAfter) return;
    if (bucket.take()) {
      refusedInARow = 0;
      next();
      return;
    }
    refusedInARow += 1;
    const ack: unknown = packet[packet.length - 1];
    if (typeof ack === 'function') (ack as Ack)(errorAck('RATE_LIMITED', 'Too many events; slow down'));
    if (refusedInARow === limits.floodDisconnectAfter) {
      deps.onFlood();
      logger.warn({ user_id: data.userId, client_ip: data.clientIp }, 'socket cut: event flood');
      // Deferred one turn: events accepted before the flood still get their (asynchronous) acks.
      setImmediate(() => deps.cut(socket, 'RATE_LIMITED', 'Too many events'));
    }
  });

  function deny(channel: string, reason: ChannelDenial | 'cap', ack: Ack, answer: RealtimeAck): void {
    deps.onDenied(reason);
    logger.warn(
      { user_id: data.userId, role: data.role, channel: redactChannel(channel), reason },
      'channel subscription denied',
    );
    ack(answer);
  }

  socket.on('subscribe', (channel, ack) => {
    if (typeof ack !== 'function') return;
    if (typeof channel !== 'string') {
      ack(DENIAL_ACK['invalid-name']);
      return;
    }
    const denial = checkSubscribe(channel, data);
    if (denial) {
      deny(channel, denial, ack, DENIAL_ACK[denial]);
      return;
    }
    const target = targetOf(channel);
    // The own user channel is joined at connect (room u:{sub}); subscribing is a confirmation.
    if (target.kind === 'user' || data.channels.has(channel)) {
      ack({ ok: true });
      return;
    }
    if (data.channels.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
      deny(
        channel,
        'cap',
        ack,
        errorAck('RATE_LIMITED', `At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per socket`),
      );
      return;
    }
    data.channels.add(channel);
    deps.onSubscriptionsChanged(1);
    Promise.resolve(socket.join(target.room)).then(
      () => ack({ ok: true }),
      (err: unknown) => {
        data.channels.delete(channel);
        deps.onSubscriptionsChanged(-1);
        ack({ ok: false, error: errorPayload(err, logger, 'subscribe') });
      },
    );
  });

  socket.on('unsubscribe', (channel, ack) => {
    if (typeof ack !== 'function') return;
    if (typeof channel !== 'string' || checkSubscribe(channel, data) === 'invalid-name') {
      ack(DENIAL_ACK['invalid-name']);
      return;
    }
    const target = targetOf(channel);
    if (target.kind === 'user') {
      ack(errorAck('FORBIDDEN', 'The user channel cannot be left'));
      return;
    }
    if (!data.channels.delete(channel)) {
      ack({ ok: true });
      return;
    }
    deps.onSubscriptionsChanged(-1);
    Promise.resolve(socket.leave(target.room)).then(
      () => ack({ ok: true }),
      (err: unknown) => ack({ ok: false, error: errorPayload(err, logger, 'unsubscribe') }),
    );
  });

  socket.on('presence:list', (ack) => {
    if (typeof ack !== 'function') return;
    deps.presence.list().then(
      (users) => ack({ ok: true, users }),
      (err: unknown) => ack({ ok: false, error: errorPayload(err, logger, 'presence:list') }),
    );
  });

  socket.on('auth:refresh', (token, ack) => {
    if (typeof ack !== 'function') return;
    deps.authenticator.authenticate(typeof token === 'string' ? token : undefined).then(
      (auth) => {
        // Only a token of this very session extends it: another session's (or user's) token would
        // let a socket outlive the revocation of the session it was opened with.
        if (auth.sub !== data.userId || auth.sid !== data.sid) {
          deps.onDenied('refresh');
          logger.warn({ user_id: data.userId }, 'auth:refresh refused: token of another session');
          ack(errorAck('FORBIDDEN', 'The token belongs to another session'));
          return;
        }
        data.role = auth.role;
        if (auth.exp > data.exp) {
          data.exp = auth.exp;
          deps.rescheduleExpiry(socket);
        }
        ack({ ok: true });
      },
      (err: unknown) => ack({ ok: false, error: errorPayload(err, logger, 'auth:refresh') }),
    );
  });
}
