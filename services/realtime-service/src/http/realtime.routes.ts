import type { RealtimeMessage } from '@concord/client';
import { AppError, methodNotAllowed, requireRole, type Authenticator } from '@concord/common';
import { Router, type RequestHandler } from 'express';
import { checkPublish, targetOf, userRoom } from '../domain/channel-policy';
import { buildMessage } from '../domain/message';
import { publishBody, userIdParam } from './schemas';

/** Dependencies of {@link realtimeRoutes}. */
export interface RealtimeRoutesDeps {
  authenticator: Authenticator;
  /** Delivers `message` to `room` on every node. */
  publish(room: string, message: RealtimeMessage): void;
  newId: () => string;
  now: () => number;
  json: RequestHandler[];
}

/** `/api/v1/realtime/*` (DESIGN.md section 6): publishing, ceo and manager only. */
export function realtimeRoutes(deps: RealtimeRoutesDeps): Router {
  const router = Router({ strict: true, caseSensitive: true });
  const guard = [deps.authenticator.requireAuth, requireRole('ceo', 'manager'), ...deps.json];

  function send(room: string, channel: string, body: unknown): string {
    const { event, data } = publishBody.parse(body ?? {});
    const message = buildMessage({ channel, event, data: data ?? null }, deps);
    deps.publish(room, message);
    return message.id;
  }

  router.post('/channels/:channel/messages', ...guard, (req, res) => {
    const channel = String(req.params.channel);
    const denial = checkPublish(channel);
    if (denial === 'invalid-name') {
      throw new AppError('VALIDATION_ERROR', 'The channel name is invalid', {
        errors: [{ path: 'channel', message: 'must match ^[a-z0-9][a-z0-9:._-]{0,127}$' }],
      });
    }
    if (denial === 'forbidden') throw new AppError('FORBIDDEN', 'Nobody publishes on this channel');
    res.status(202).json({ id: send(targetOf(channel).room, channel, req.body) });
  });
  router.all('/channels/:channel/messages', methodNotAllowed(['POST']));

  router.post('/users/:id/messages', ...guard, (req, res) => {
    const parsed = userIdParam.safeParse(req.params.id);
    if (!parsed.success) {
      throw new AppError('VALIDATION_ERROR', 'The user id is invalid', {
        errors: [{ path: 'id', message: 'must be a UUID' }],
      });
    }
    res.status(202).json({ id: send(userRoom(parsed.data), `user:${parsed.data}`, req.body) });
  });
  router.all('/users/:id/messages', methodNotAllowed(['POST']));
  return router;
}
