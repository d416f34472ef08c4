import { AppError, methodNotAllowed, sendJson, type Authenticator } from '@concord/common';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { etagOf, evaluateRead, readPreconditions, type Preconditions } from '../domain/preconditions';
import { versionConflict, type SettingsReader } from '../domain/settings-reader';
import type { SettingResource } from '../domain/setting-resource';
import type { SettingsWriter, Writer } from '../domain/settings-writer';
import { historyQuery, patchBody, putBody } from './schemas';

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function preconditionsOf(req: Request): Preconditions {
  return readPreconditions({ ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match') });
}

function writerOf(req: Request): Writer {
  return { sub: req.auth!.sub, role: req.auth!.role, requestId: req.id };
}

// Settings change under a client's feet: a cache may keep a copy, but must revalidate it every time
// (RFC 9111 section 5.2.2.4), which the strong ETag makes cheap.
function sendSetting(res: Response, resource: SettingResource): void {
  res.setHeader('ETag', etagOf(resource.revision));
  res.setHeader('Cache-Control', 'no-cache');
  sendJson(res, resource);
}

/** `/api/v1/settings/*` (DESIGN.md section 5): thin handlers over the settings domain. */
export function settingsRoutes(deps: {
  reader: SettingsReader;
  writer: SettingsWriter;
  authenticator: Authenticator;
  json: RequestHandler[];
}): Router {
  // Paths are exact (DESIGN.md section 2): /Api or /api/ is not /api.
  const router = Router({ caseSensitive: true, strict: true });
  const auth = deps.authenticator.requireAuth;

  router
    .route('/:namespace')
    .get(auth, async (req, res) => {
      const items = await deps.reader.list(req.params.namespace!);
      res.setHeader('Cache-Control', 'no-cache');
      sendJson(res, { items });
    })
    .patch(auth, ...deps.json, async (req, res) => {
      if (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) {
        // A namespace has no ETag of its own; ignoring the header would make the batch unconditional.
        throw new AppError(
          'REQUEST_VALIDATION_ERROR',
          'A batch carries its preconditions in items[].if_match',
        );
      }
      const body = patchBody.parse(req.body ?? {});
      const items = await deps.writer.patch({
        namespace: req.params.namespace!,
        items: body.items.map((item) => ({ key: item.key, value: item.value, ifMatch: item.if_match })),
        writer: writerOf(req),
      });
      res.setHeader('Cache-Control', 'no-cache');
      sendJson(res, { items });
    })
    .all(methodNotAllowed(['GET', 'PATCH']));

  router
    .route('/:namespace/:key')
    .get(auth, async (req, res) => {
      const preconditions = preconditionsOf(req);
      const { namespace, key } = req.params as { namespace: string; key: string };
      const current = await deps.reader.get(namespace, key);
      const outcome = evaluateRead(preconditions, current.state);
      if (outcome === 'failed') throw versionConflict(namespace, current);
      if (outcome === 'not-modified') {
        // RFC 9110 section 15.4.5: a 304 carries the validator and caching headers a 200 would.
        res.setHeader('ETag', etagOf(current.resource.revision));
        res.setHeader('Cache-Control', 'no-cache');
        res.status(304).end();
        return;
      }
      sendSetting(res, current.resource);
    })
    .put(auth, ...deps.json, async (req, res) => {
      const preconditions = preconditionsOf(req);
      const body = putBody.parse(req.body ?? {});
      const { namespace, key } = req.params as { namespace: string; key: string };
      const result = await deps.writer.put({
        namespace,
        key,
        value: body.value,
        preconditions,
        writer: writerOf(req),
      });
      sendSetting(res, result.resource);
    })
    .delete(auth, async (req, res) => {
      const preconditions = preconditionsOf(req);
      const { namespace, key } = req.params as { namespace: string; key: string };
      const result = await deps.writer.reset({ namespace, key, preconditions, writer: writerOf(req) });
      sendSetting(res, result.resource);
    })
    .all(methodNotAllowed(['GET', 'PUT', 'DELETE']));

  router
    .route('/:namespace/:key/history')
    .get(auth, async (req, res) => {
      const query = historyQuery.parse(req.query);
      const { namespace, key } = req.params as { namespace: string; key: string };
      const page = await deps.reader.history({ namespace, key, limit: query.limit, cursor: query.cursor });
      res.setHeader('Cache-Control', 'no-cache');
      sendJson(res, page);
    })
    .all(methodNotAllowed(['GET']));

  return router;
}
