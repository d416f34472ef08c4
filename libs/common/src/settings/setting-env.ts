import type { NamespaceDefinition } from './setting-definition';

/** How an environment string becomes a setting value. */
export type EnvFormat = 'text' | 'integer' | 'port' | 'list';

/** An `api` setting that a process's environment can also set. */
export interface SettingEnvBinding {
  readonly key: string;
  readonly env: string;
  readonly format: EnvFormat;
}

/**
 * The one table of `api` settings and the env names of DESIGN.md section 7 that set the same thing
 * in a process. Every service resolves its settings against its own environment with it: restart
 * keys env > stored > default, live keys stored > env > default.
 */
export const API_SETTING_ENV: readonly SettingEnvBinding[] = [
  { key: 'server_host', env: 'HOST', format: 'text' },
  { key: 'server_port', env: 'PORT', format: 'port' },
  { key: 'ssl_certfile', env: 'TLS_CERT_FILE', format: 'text' },
  { key: 'ssl_keyfile', env: 'TLS_KEY_FILE', format: 'text' },
  { key: 'ssl_ca_certs', env: 'TLS_CA_FILE', format: 'text' },
  { key: 'trusted_proxies', env: 'TRUSTED_PROXIES', format: 'list' },
  { key: 'cors_allowed_origins', env: 'CORS_ALLOWED_ORIGINS', format: 'list' },
  { key: 'rate_limit_max_requests', env: 'RATE_LIMIT_MAX_REQUESTS', format: 'integer' },
  { key: 'rate_limit_time_unit', env: 'RATE_LIMIT_TIME_UNIT', format: 'text' },
  { key: 'rate_limit_exclude_paths', env: 'RATE_LIMIT_EXCLUDE_PATHS', format: 'list' },
  { key: 'jwt_expiry_minutes', env: 'JWT_EXPIRY_MINUTES', format: 'integer' },
  { key: 'min_password_length', env: 'MIN_PASSWORD_LENGTH', format: 'integer' },
];

/** The env names of {@link API_SETTING_ENV}. */
export const API_SETTING_ENV_NAMES: readonly string[] = API_SETTING_ENV.map((binding) => binding.env);

/** Values an environment pins, by key, and what was wrong with the others. */
export interface EnvSettings {
  values: ReadonlyMap<string, unknown>;
  /** `NAME: message` lines; values are never echoed (TLS_KEY_FILE is sensitive). */
  problems: string[];
}

/** Undefined: the string pins nothing (empty = unset, and PORT=0 means "any free port"). */
function decode(format: EnvFormat, text: string): { value?: unknown; error?: string } {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  switch (format) {
    case 'text':
      return { value: trimmed };
    case 'list':
      return {
        value: trimmed
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      };
    case 'integer':
    case 'port': {
      if (!/^-?\d{1,15}$/.test(trimmed)) return { error: 'expected an integer' };
      const n = Number(trimmed);
      return format === 'port' && n === 0 ? {} : { value: n };
    }
  }
}

/**
 * Reads the settings `env` pins for namespace `api` and checks each against the setting's own
 * schema, so an environment can no more go below a security floor than a writer can.
 */
export function readEnvSettings(
  namespace: NamespaceDefinition,
  env: Readonly<Record<string, string | undefined>>,
): EnvSettings {
  const values = new Map<string, unknown>();
  const problems: string[] = [];
  for (const binding of API_SETTING_ENV) {
    const text = env[binding.env];
    const def = namespace.settings.find((candidate) => candidate.key === binding.key);
    if (text === undefined || !def) continue;
    const decoded = decode(binding.format, text);
    if (decoded.error !== undefined) {
      problems.push(`${binding.env}: ${decoded.error}`);
      continue;
    }
    if (decoded.value === undefined) continue;
    const parsed = def.schema.safeParse(decoded.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` (item ${issue.path.join('.')})` : '';
      problems.push(`${binding.env}: ${issue?.message ?? 'invalid'}${where} (setting api.${binding.key})`);
      continue;
    }
    values.set(binding.key, parsed.data);
  }
  return { values, problems };
}
