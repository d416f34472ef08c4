import { z } from 'zod';

/** The outbox topic and event type of a committed settings change (DESIGN.md section 5). */
export const SETTINGS_CHANGED = 'settings.changed';

/**
 * `settings.changed` data: `{namespace, key, value, etag, revision, updated_by, updated_at}`, the
 * value masked when the key is sensitive and `null` after a reset (back to env or default, which
 * each consumer resolves itself). Bounds keep a forged message from costing memory.
 */
export const settingsChangedData = z.object({
  namespace: z.string().min(1).max(64),
  key: z.string().min(1).max(128),
  value: z.unknown(),
  etag: z.string().max(32),
  revision: z.number().int().positive(),
  updated_by: z.string().max(128).nullable(),
  updated_at: z.string().max(64),
});

/** A committed settings change as every producer sends it and every consumer receives it. */
export type SettingsChangedData = z.infer<typeof settingsChangedData>;

/**
 * The one envelope of the Concord events channel `{REDIS_PREFIX}events` (DESIGN.md section 6):
 * `{type, data}`. Producers and consumers share it, so a change on one side fails the other's tests.
 */
export const concordEventEnvelope = z.object({ type: z.string().min(1).max(64), data: z.unknown() });

/** `settings.changed` in its envelope. */
export const settingsChangedEvent = z.object({
  type: z.literal(SETTINGS_CHANGED),
  data: settingsChangedData,
});

/** A message of the events channel, parsed: a settings change, another type, or why it was refused. */
export type ParsedConcordEvent =
  | { kind: 'settings.changed'; data: SettingsChangedData }
  | { kind: 'other'; type: string }
  | { kind: 'malformed'; reason: string };

/**
 * Parses one message of the events channel (untrusted: anyone who can PUBLISH on the channel can
 * send anything). Types this process does not know are reported as `other`, not as errors, so a
 * producer can add a type before its consumers learn it.
 */
export function parseConcordEvent(text: string): ParsedConcordEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  const envelope = concordEventEnvelope.safeParse(json);
  if (!envelope.success) return { kind: 'malformed', reason: 'not a {type, data} envelope' };
  if (envelope.data.type !== SETTINGS_CHANGED) return { kind: 'other', type: envelope.data.type };
  const data = settingsChangedData.safeParse(envelope.data.data);
  if (!data.success)
    return { kind: 'malformed', reason: `settings.changed: ${data.error.issues[0]?.message}` };
  return { kind: 'settings.changed', data: data.data };
}
