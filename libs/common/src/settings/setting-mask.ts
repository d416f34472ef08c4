import { REDACTED } from '../logging/redact-secrets';
import type { SettingDefinition } from './setting-definition';

/** What a sensitive setting's value is shown as, everywhere (responses, history, events, logs). */
export const MASKED_SETTING_VALUE = REDACTED;

/** Masks a sensitive value; null ("at the default") stays null, it gives nothing away. */
export function maskSettingValue(def: Pick<SettingDefinition, 'sensitive'>, value: unknown): unknown {
  return def.sensitive && value !== null && value !== undefined ? MASKED_SETTING_VALUE : value;
}
