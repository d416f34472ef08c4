import type { RequestHandler } from 'express';

/**
 * `GET /.well-known/jwks.json`: the `next` and `active` public keys. Served on the API port (through
 * the gateway, for clients) and on the internal listener (for sibling services' `JWKS_URL`).
 */
export function jwksHandler(jwks: () => { keys: object[] }): RequestHandler {
  return (_req, res) => {
    // Verifiers cache the key set for 10 minutes; a `next` key is published at least that long
    // before it signs anything (docs/decisions/004-signing-keys.md).
    res.setHeader('Cache-Control', 'public, max-age=600');
    res.json(jwks());
  };
}
