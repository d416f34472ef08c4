import {
  AppError,
  createRouter,
  methodNotAllowed,
  parseCursor,
  requireRole,
  type Authenticator,
} from '@concord/common';
import type { RequestHandler, Router } from 'express';
import { listCursor } from '../data-access/list-cursor';
import type { UserService } from '../domain/user.service';
import { presentUser } from './presenters';
import { changeRoleBody, createUserBody, pageQuery, uuidParam } from './schemas';

/** `/api/v1/users*` (ceo; listing also manager), mounted at `/api/v1`. */
export function userRoutes(deps: {
  users: UserService;
  authenticator: Authenticator;
  json: RequestHandler[];
}): Router {
  const router = createRouter();
  const auth = deps.authenticator.requireAuth;

  function userId(raw: unknown): string {
    const parsed = uuidParam.safeParse(raw);
    if (!parsed.success) throw new AppError('RESOURCE_NOT_FOUND', 'No such user');
    return parsed.data;
  }

  router
    .route('/users')
    .post(auth, requireRole('ceo'), ...deps.json, async (req, res) => {
      const body = createUserBody.parse(req.body ?? {});
      const user = await deps.users.create(body.username, body.password, body.role);
      res.status(201).location(`${req.baseUrl}/users/${user.id}`).json(presentUser(user));
    })
    .get(auth, requireRole('ceo', 'manager'), async (req, res) => {
      const page = pageQuery.parse(req.query);
      const result = await deps.users.list(page.limit, parseCursor(page.cursor, listCursor));
      res.json({ items: result.items.map(presentUser), next_cursor: result.nextCursor });
    })
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/users/:id')
    .patch(auth, requireRole('ceo'), ...deps.json, async (req, res) => {
      const id = userId(req.params.id);
      const body = changeRoleBody.parse(req.body ?? {});
      res.json(presentUser(await deps.users.changeRole(id, body.role)));
    })
    .all(methodNotAllowed(['PATCH']));

  router
    .route('/users/:id/sessions')
    .delete(auth, requireRole('ceo'), async (req, res) => {
      const revoked = await deps.users.revokeSessions(userId(req.params.id));
      res.json({ revoked });
    })
    .all(methodNotAllowed(['DELETE']));

  return router;
}
