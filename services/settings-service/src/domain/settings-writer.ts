import type { Preconditions } from './preconditions';
import { patchSettings, type PatchSettingsInput } from './patch-settings.use-case';
import type { SettingResource } from './setting-resource';
import type { ResolvedSetting } from './settings-reader';
import { writeSetting } from './write-setting.use-case';
import type { WriteContext, Writer } from './write-rules';

export type { BatchItem } from './patch-settings.use-case';
export type { Writer } from './write-rules';

/** Options of {@link createSettingsWriter}. */
export type SettingsWriterOptions = WriteContext;

/** The write side: PUT, DELETE (reset) and the all-or-nothing PATCH. */
export interface SettingsWriter {
  put(input: {
    namespace: string;
    key: string;
    value: unknown;
    preconditions: Preconditions;
    writer: Writer;
  }): Promise<ResolvedSetting>;
  reset(input: {
    namespace: string;
    key: string;
    preconditions: Preconditions;
    writer: Writer;
  }): Promise<ResolvedSetting>;
  patch(input: PatchSettingsInput): Promise<(SettingResource & { etag: string })[]>;
}

/** Builds the write side over `options`. */
export function createSettingsWriter(options: SettingsWriterOptions): SettingsWriter {
  return {
    put: (input) => writeSetting(options, input),
    reset: (input) => writeSetting(options, { ...input, value: null }),
    patch: (input) => patchSettings(options, input),
  };
}
