import type { FieldError } from '../errors/app-error';
import { parseCidr } from '../net/trusted-proxies';
import { z } from 'zod';
import { defineSetting, type CrossKeyRule, type NamespaceDefinition } from './setting-definition';

/** Options of {@link apiSettings}: the static bounds the services' own config enforces. */
export interface ApiSettingsOptions {
  /** `JWT_MAX_ACCESS_TTL_SECONDS`: verifiers refuse longer-lived tokens, so no writer may ask for one. */
  maxAccessTtlSeconds: number;
}

// An empty string means "unset", as in the environment (DESIGN.md section 7). Relative paths would
// resolve against each service's working directory, which differs between the stack, compose and k8s.
const filePath = z
  .string()
  .max(4096)
  .refine((v) => v === '' || (v.startsWith('/') && !/[\0\r\n]/.test(v)), {
    message: 'an absolute file path, or "" for unset',
  });

const urlPath = z
  .string()
  .max(2048)
  .regex(/^\/[\x21-\x7e]*$/, 'a path starting with "/" (no spaces, no query)')
  .refine((v) => !/[?#]/.test(v), { message: 'a path without query or fragment' });

// Same parser as TRUSTED_PROXIES, so the setting can never hold what the env would refuse: prefix
// length 0 (0.0.0.0/0, ::/0, ::ffff:0.0.0.0/96) would let any client forge X-Forwarded-For.
const cidr = z.string().superRefine((value, ctx) => {
  try {
    parseCidr(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const origin = z.string().refine(
  (v) => {
    try {
      const url = new URL(v);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === v;
    } catch {
      return false;
    }
  },
  { message: 'an origin: scheme://host[:port], nothing after it (a "*" is not an origin)' },
);

function isSet(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

/** TLS pairing as section 7: certificate and key both or neither; a CA requires both. */
export const tlsPairRule: CrossKeyRule = {
  keys: ['ssl_certfile', 'ssl_keyfile', 'ssl_ca_certs'],
  check(values) {
    const cert = isSet(values.ssl_certfile);
    const key = isSet(values.ssl_keyfile);
    const errors: FieldError[] = [];
    if (cert !== key) {
      errors.push({
        path: cert ? 'ssl_keyfile' : 'ssl_certfile',
        message: 'ssl_certfile and ssl_keyfile must be set together',
      });
    }
    if (isSet(values.ssl_ca_certs) && !(cert && key)) {
      errors.push({
        path: 'ssl_ca_certs',
        message: 'ssl_ca_certs (client-certificate verification) requires ssl_certfile and ssl_keyfile',
      });
    }
    return errors;
  },
};

/**
 * Namespace `api`: the original design's 15 settings under their original keys (DESIGN.md section
 * 5). The bounds are the security floors: no writer can go below what the services' config refuses.
 */
export function apiSettings(options: ApiSettingsOptions): NamespaceDefinition {
  const restart = { restartRequired: true } as const;
  return {
    name: 'api',
    rules: [tlsPairRule],
    settings: [
      defineSetting({
        key: 'server_host',
        ...restart,
        schema: z.string().regex(/^[A-Za-z0-9._:-]{1,253}$/, 'a host name or IP address'),
        default: '127.0.0.1',
        description: 'Bind address of every service (env HOST wins)',
      }),
      defineSetting({
        key: 'server_port',
        ...restart,
        schema: z.int().min(1).max(65535),
        default: 3001,
        description: 'HTTP port of every service (env PORT wins)',
      }),
      defineSetting({
        key: 'api_prefix',
        writable: false,
        schema: z.string(),
        default: '/api/v1',
        description: 'Path prefix of the HTTP API',
      }),
      defineSetting({
        key: 'ssl_certfile',
        ...restart,
        schema: filePath,
        default: '',
        description: 'TLS certificate file of direct TLS on a service ("" = unset)',
      }),
      defineSetting({
        key: 'ssl_keyfile',
        ...restart,
        sensitive: true,
        schema: filePath,
        default: '',
        description: 'TLS private key file, set together with ssl_certfile ("" = unset)',
      }),
      defineSetting({
        key: 'ssl_ca_certs',
        ...restart,
        schema: filePath,
        default: '',
        description: 'CA file enabling client-certificate verification; requires the TLS pair ("" = unset)',
      }),
      defineSetting({
        key: 'trusted_proxies',
        ...restart,
        schema: z.array(cidr).max(64),
        default: [],
        description: 'Proxies whose X-Forwarded-* headers are honoured (IPs/CIDRs; no prefix length 0)',
      }),
      defineSetting({
        key: 'cors_allowed_origins',
        ...restart,
        schema: z.array(origin).max(64),
        default: ['http://localhost:5173'],
        description: 'Origins allowed by every service’s CORS middleware (preflight included)',
      }),
      defineSetting({
        key: 'rate_limit_max_requests',
        schema: z.int().min(1).max(10_000),
        default: 100,
        description: 'Authenticated API requests allowed per client per time unit',
      }),
      defineSetting({
        key: 'rate_limit_time_unit',
        schema: z.enum(['second', 'minute', 'hour', 'day']),
        default: 'minute',
        description: 'Window of rate_limit_max_requests',
      }),
      defineSetting({
        key: 'rate_limit_exclude_paths',
        ...restart,
        schema: z.array(urlPath).max(64),
        default: ['/healthz', '/readyz'],
        description: 'Paths the per-client rate limit does not count',
      }),
      defineSetting({
        key: 'jwt_expiry_minutes',
        schema: z
          .int()
          .min(1)
          .max(Math.floor(options.maxAccessTtlSeconds / 60)),
        default: 15,
        description:
          'Lifetime of the next access tokens auth-service issues (max JWT_MAX_ACCESS_TTL_SECONDS)',
      }),
      defineSetting({
        key: 'min_password_length',
        schema: z.int().min(12).max(128),
        default: 12,
        description: 'Minimum length of the next passwords set',
      }),
      defineSetting({
        key: 'auth_exclude_paths',
        // Writable, it would be an authentication bypass.
        writable: false,
        schema: z.array(urlPath),
        default: [],
        description: 'Paths served without authentication (read-only)',
      }),
      defineSetting({
        key: 'setup_complete',
        schema: z.boolean(),
        default: false,
        derive: (facts) => facts.usersExist,
        description: 'True once a user exists (derived, read-only)',
      }),
    ],
  };
}
