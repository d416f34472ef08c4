import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { parseTrustedProxies } from '../net/trusted-proxies';

/** Environment strings are "unset" when empty (DESIGN.md section 7). */
function emptyAsUndefined(value: unknown): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}

/** An optional path to a readable file; empty means unset. */
export const optionalFile = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .refine((p) => existsSync(p) && statSync(p).isFile(), { message: 'file does not exist' })
    .optional(),
);

/** `true/false/1/0/yes/no`, with a default. */
export function envBoolean(defaultValue: boolean) {
  return z.preprocess(
    (v) => emptyAsUndefined(v) ?? String(defaultValue),
    z
      .string()
      .toLowerCase()
      .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), {
        message: 'expected true or false',
      })
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );
}

/** An integer with bounds and a default. */
export function envInt(defaultValue: number, min: number, max: number) {
  return z.preprocess((v) => emptyAsUndefined(v) ?? defaultValue, z.coerce.number().int().min(min).max(max));
}

/** A TCP port (0 lets the OS choose, which tests use). */
export function envPort(defaultValue: number) {
  return envInt(defaultValue, 0, 65535);
}

function urlOf(protocols: string[]) {
  return z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a ${protocols.join(' or ')} URL` },
  );
}

/** A URL with one of the given protocols, defaulting to `defaultValue`. */
export function envUrl(defaultValue: string, protocols: string[]) {
  return z.preprocess((v) => emptyAsUndefined(v) ?? defaultValue, urlOf(protocols));
}

/** An optional URL with one of the given protocols; empty means unset. */
export function optionalEnvUrl(protocols: string[]) {
  return z.preprocess(emptyAsUndefined, urlOf(protocols).optional());
}

/** `TRUSTED_PROXIES`: comma-separated IPs/CIDRs; prefix length 0 refused. */
export const trustedProxies = z.preprocess(
  (v) => emptyAsUndefined(v) ?? '',
  z.string().transform((text, ctx) => {
    try {
      return parseTrustedProxies(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
);

/** One `host:port` of `REDIS_CLUSTER_NODES`. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * `REDIS_CLUSTER_NODES` (DESIGN.md section 9): comma-separated `host:port` seeds of a Redis Cluster
 * (an IPv6 host in brackets, `[::1]:7000`). Empty = unset: the service uses `REDIS_URL`.
 */
export const redisClusterNodes = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .transform((text, ctx) => {
      const nodes: RedisNode[] = [];
      for (const [i, item] of text
        .split(',')
        .map((s) => s.trim())
        .entries()) {
        const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
        const port = m ? Number(m[3]) : 0;
        if (!m || port < 1 || port > 65_535) {
          // The position, never the value: a config message must not echo what may be a secret.
          ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not host:port` });
          return z.NEVER;
        }
        nodes.push({ host: m[1] ?? m[2]!, port });
      }
      return nodes;
    })
    .optional(),
);

/** pino levels. */
export const logLevel = z.preprocess(
  (v) => emptyAsUndefined(v) ?? 'info',
  z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
);
