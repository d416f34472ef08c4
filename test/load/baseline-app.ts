/**
 * The baseline of the benchmarks, run as its own process (like a replica): express 5 answering
 * `{ok:true}` for GET /api/v1/auth/me, and for GET /api/v1/settings/bench/<key> a fixed setting
 * (`BASELINE_SETTING_BODY`, `BASELINE_SETTING_ETAG`: the bench copies both from a real answer, so
 * both sides send the same bytes) with its strong ETag and 304 on a matching If-None-Match. The same
 * app settings as the services (no express ETag, no X-Powered-By), on the server Express's
 * `app.listen` makes, or on Concord's own server factory with `BASELINE_SERVER=concord` (see
 * bare-server.ts: then a comparison measures only Concord's per-request work, context, metrics,
 * token and revocation checks, the handler, its database read). Usage: `PORT=<port> node baseline-app.js`.
 */
import { closeGracefully, listen } from '@concord/common';
import express from 'express';
import { bareServer } from './bare-server';

async function main(): Promise<void> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/api/v1/auth/me', (_req, res) => {
    res.json({ ok: true });
  });
  const settingBody = process.env.BASELINE_SETTING_BODY ?? '{"value":0}';
  const settingEtag = process.env.BASELINE_SETTING_ETAG ?? '"0"';
  app.get('/api/v1/settings/bench/:key', (req, res) => {
    res.set('ETag', settingEtag);
    if (req.headers['if-none-match'] === settingEtag) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(settingBody);
  });
  const server = bareServer(app);
  const port = await listen(server, Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`baseline listening on ${port}\n`);
  process.once('SIGTERM', () => {
    closeGracefully(server, 1_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline failed: ${String(err)}\n`);
  process.exit(1);
});
