// The `api` namespace is shared by every service (each applies its keys), so it lives in libs/common.
export { apiSettings, tlsPairRule, type ApiSettingsOptions } from '@concord/common';
