import type { z } from 'zod';

/** Thrown when the environment is invalid; the message names every bad key at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` with `schema` once and freezes the result. Every issue is reported in one error so an
 * operator fixes the whole environment in one go instead of one key per restart. Values are never
 * echoed back (they may be secrets).
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)';
      return `${key}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  return Object.freeze(result.data) as Readonly<z.output<S>>;
}

/**
 * The exposure warning of DESIGN.md section 7: binding every interface with neither TLS nor trusted
 * proxies means the service is reachable in clear text by anyone, and nobody is in front of it.
 */
export function exposureWarning(config: {
  HOST: string;
  TLS_CERT_FILE?: string;
  TRUSTED_PROXIES: readonly unknown[];
}): string | undefined {
  const wildcard = ['0.0.0.0', '::', '[::]', '::0'].includes(config.HOST);
  if (wildcard && config.TLS_CERT_FILE === undefined && config.TRUSTED_PROXIES.length === 0) {
    return `HOST=${config.HOST} binds every interface without TLS and without trusted proxies: the service is exposed in clear text`;
  }
  return undefined;
}
