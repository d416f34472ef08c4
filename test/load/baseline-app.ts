/**
 * The baseline of the auth benchmark, run as its own process (like a replica): express 5 answering
 * `{ok:true}` for GET /api/v1/auth/me and nothing else. It uses the services' own HTTP server
 * factory and the same app settings (no ETag, no X-Powered-By), so what the comparison measures is
 * exactly Concord's per-request work (context, logging, metrics, token and revocation checks, the
 * handler), not server plumbing. Usage: `PORT=<port> node baseline-app.js`.
 */
import { closeGracefully, createServer, listen } from '@concord/common';
import express from 'express';

async function main(): Promise<void> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/api/v1/auth/me', (_req, res) => {
    res.json({ ok: true });
  });
  const server = createServer(app);
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
