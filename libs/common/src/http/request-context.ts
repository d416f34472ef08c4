import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ClientIpResolver } from '../net/client-ip';

declare module 'express-serve-static-core' {
  interface Request {
    /** Request id: nginx's `X-Request-Id` when well-formed, otherwise generated here. */
    id: string;
    /** Client address resolved through trusted proxies only. */
    clientIp: string;
    /** `http` or `https` as seen by the client (trusted `X-Forwarded-Proto` or the socket). */
    clientProto: string;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  resolveClientIp: ClientIpResolver;
  replicaId: string;
  /** Local profile only: lets tests see which replica answered. */
  exposeReplicaHeader: boolean;
}

/**
 * First middleware of every service: request id, client IP/proto (trusted proxies only) and the
 * replica header. An incoming id is kept only when it is well-formed, so logs cannot be forged with
 * newlines or giant values.
 */
export function requestContext(options: RequestContextOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    // Before resolving the client: the resolver throws a 400 problem for a peer that is no address,
    // and that answer carries the headers too.
    res.setHeader('X-Request-Id', req.id);
    if (options.exposeReplicaHeader) res.setHeader('X-Concord-Replica', options.replicaId);
    const client = options.resolveClientIp(
      req.socket.remoteAddress ?? '',
      req.headers,
      'encrypted' in req.socket && req.socket.encrypted === true,
    );
    req.clientIp = client.ip;
    req.clientProto = client.proto;
    next();
  };
}
