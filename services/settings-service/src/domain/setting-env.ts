// Shared with every service, which each resolve their `api` settings against their environment.
export {
  API_SETTING_ENV,
  API_SETTING_ENV_NAMES,
  readEnvSettings,
  type EnvFormat,
  type EnvSettings,
  type SettingEnvBinding,
} from '@concord/common';
