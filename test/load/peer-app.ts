/**
 * The "peer app" of the auth benchmark: what a team would write instead of using Concord's
 * auth-service for `GET /api/v1/auth/me` — express 5 verifying the bearer JWT with jose on every
 * request and answering the same `{id, username, role, session_id}` body from its claims. Like a
 * typical stateless JWT app it checks signature, algorithm, `typ`, issuer, audience and expiry (with
 * a clock tolerance), and nothing else: no revocation, no verified-token cache, no request context.
 * The key set is fetched once at start with `createRemoteJWKSet` from auth-service's internal JWKS
 * listener (refetched only for an unknown `kid`, as jose does). Same HTTP server (bare-server.ts)
 * and app settings as baseline-app.ts, so a comparison measures what each app does per request.
 *
 * Environment: PORT, JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, JWT_ALGORITHMS (comma-separated),
 * BASELINE_SERVER (bare-server.ts).
 * Usage: `node peer-app.js`.
 */
import { closeGracefully, listen } from '@concord/common';
import express from 'express';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { bareServer } from './bare-server';

/** A required environment variable (the bench always sets them). */
function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const jwks = createRemoteJWKSet(new URL(env('JWKS_URL')));
  // Fetch now: a peer that cannot reach the key set must fail at start, not on the first request.
  await jwks.reload();
  const verifyOptions = {
    algorithms: env('JWT_ALGORITHMS').split(','),
    issuer: env('JWT_ISSUER'),
    audience: env('JWT_AUDIENCE'),
    typ: 'at+jwt',
    requiredClaims: ['exp', 'sub', 'sid'],
    clockTolerance: 60,
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/api/v1/auth/me', async (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) {
      res.status(401).json({ error: 'missing bearer token' });
      return;
    }
    try {
      const { payload } = await jwtVerify(token, jwks, verifyOptions);
      res.json({
        id: payload.sub,
        username: payload.preferred_username,
        role: payload.role,
        session_id: payload.sid,
      });
    } catch (err) {
      // A bad token is the client's problem; anything else (a key-set fetch failing) is ours: 500.
      const keySetFailure = err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid;
      if (!(err instanceof errors.JOSEError) || keySetFailure) throw err;
      res.status(401).json({ error: 'invalid token' });
    }
  });
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  const server = bareServer(app);
  const port = await listen(server, Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`peer app listening on ${port}\n`);
  process.once('SIGTERM', () => {
    closeGracefully(server, 1_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`peer app failed: ${String(err)}\n`);
  process.exit(1);
});
