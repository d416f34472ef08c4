import {
  AppError,
  methodNotAllowed,
  parseCursor,
  sendJson,
  type Authenticator,
  type AuthContext,
} from '@concord/common';
import type { Request, RequestHandler, Router } from 'express';
import type { AuthService, ClientContext } from '../domain/auth.service';
import type { SessionService } from '../domain/session.service';
import { listCursor } from '../data-access/list-cursor';
import { presentGrant, presentSession } from './presenters';
import {
  loginBody,
  logoutQuery,
  pageQuery,
  passwordBody,
  refreshBody,
  revokeBody,
  revokeSessionsQuery,
  sessionsQuery,
  setupBody,
  uuidParam,
} from './schemas';

/** Dependencies of {@link authRoutes}. */
export interface AuthRoutesDeps {
  auth: AuthService;
  sessions: SessionService;
  authenticator: Authenticator;
  idleTimeoutSeconds: number;
  json: RequestHandler[];
  jsonOrForm: RequestHandler[];
}

function client(req: Request): ClientContext {
  return { ip: req.clientIp, userAgent: req.headers['user-agent'] };
}

function caller(req: Request): AuthContext {
  if (!req.auth) throw new AppError('UNAUTHORIZED');
  return req.auth;
}

/** Where {@link authRoutes} puts its routes. */
const BASE = '/api/v1/auth';

/**
 * Adds `/api/v1/auth/*` (DESIGN.md section 4) to `router` with full paths: on the app's own router
 * (`app.router`) rather than a router mounted at the prefix, because a mounted router costs every
 * request a second routing pass (prefix trimming, its own dispatch), measurable on `/me`.
 */
export function authRoutes(router: Router, deps: AuthRoutesDeps): Router {
  const requireAuth = deps.authenticator.requireAuth;
  const noStore: RequestHandler = (_req, res, next) => {
    // Token responses must never be cached by anything in between (RFC 6749 section 5.1).
    res.setHeader('Cache-Control', 'no-store');
    next();
  };

  // The hottest route first: Express tries routes in order.
  router
    .route(`${BASE}/me`)
    .get(requireAuth, async (req, res) => {
      const auth = caller(req);
      const user = await deps.auth.me(auth);
      // The hottest answer: sendJson skips Express's send path (see there).
      sendJson(res, { id: user.id, username: user.username, role: user.role, session_id: auth.sid });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route(`${BASE}/setup`)
    .post(...deps.json, async (req, res) => {
      const body = setupBody.parse(req.body ?? {});
      const user = await deps.auth.setup(body.username, body.password);
      res.status(201).json({ id: user.id, username: user.username, role: user.role });
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(`${BASE}/login`)
    .post(noStore, ...deps.json, async (req, res) => {
      const body = loginBody.parse(req.body ?? {});
      const grant = await deps.auth.login(body.username, body.password, client(req));
      res.json(presentGrant(grant, deps.idleTimeoutSeconds));
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(`${BASE}/refresh`)
    .post(noStore, ...deps.json, async (req, res) => {
      const body = refreshBody.parse(req.body ?? {});
      const grant = await deps.auth.refresh(body.refresh_token, client(req));
      res.json(presentGrant(grant, deps.idleTimeoutSeconds));
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(`${BASE}/logout`)
    .post(requireAuth, async (req, res) => {
      const { scope } = logoutQuery.parse(req.query);
      await deps.sessions.logout(caller(req), scope);
      res.status(204).end();
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(`${BASE}/revoke`)
    .post(...deps.jsonOrForm, async (req, res) => {
      const body = revokeBody.parse(req.body ?? {});
      await deps.auth.revokeToken(body.token, body.token_type_hint);
      // RFC 7009 section 2.2: 200 whether or not the token was known.
      res.status(200).json({});
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(`${BASE}/password`)
    .post(requireAuth, ...deps.json, async (req, res) => {
      const body = passwordBody.parse(req.body ?? {});
      await deps.auth.changePassword(caller(req), body.current_password, body.new_password, req.clientIp);
      res.status(204).end();
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(`${BASE}/sessions`)
    .get(requireAuth, async (req, res) => {
      const auth = caller(req);
      const { scope } = sessionsQuery.parse({ scope: req.query.scope });
      const page = pageQuery.parse({ limit: req.query.limit, cursor: req.query.cursor });
      const result = await deps.sessions.list(auth, scope, page.limit, parseCursor(page.cursor, listCursor));
      res.json({
        items: result.items.map((s) => presentSession(s, auth.sid, deps.idleTimeoutSeconds)),
        next_cursor: result.nextCursor,
      });
    })
    .delete(requireAuth, async (req, res) => {
      const { scope } = revokeSessionsQuery.parse(req.query);
      const revoked = await deps.sessions.revokeOwn(caller(req), scope);
      res.json({ revoked });
    })
    .all(methodNotAllowed(['GET', 'DELETE']));

  router
    .route(`${BASE}/sessions/:id`)
    .delete(requireAuth, async (req, res) => {
      const id = uuidParam.safeParse(req.params.id);
      if (!id.success) throw new AppError('RESOURCE_NOT_FOUND', 'No such session');
      await deps.sessions.revokeOne(caller(req), id.data);
      res.status(204).end();
    })
    .all(methodNotAllowed(['DELETE']));

  return router;
}
