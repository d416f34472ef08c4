import type { Logger, RedisClients } from '@concord/common';
import type { SettingsChangedEvent } from '@concord/client';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

// The Concord events channel (DESIGN.md section 6): one Redis channel `{REDIS_PREFIX}events` of JSON
// envelopes `{type, data}`. Consumed here by plain SUBSCRIBE, independent of the Socket.IO adapter,
// so it works with the sharded adapter too. One file with a narrow interface on purpose: a shared
// consumer in libs/common is to replace it.

const settingsChanged = z.object({
  namespace: z.string().min(1).max(64),
  key: z.string().min(1).max(128),
  value: z.unknown(),
  etag: z.string().max(32),
  revision: z.number().int().nonnegative(),
  updated_by: z.string().max(128).nullable(),
  updated_at: z.string().max(64),
});

const envelope = z.object({ type: z.string().min(1).max(64), data: z.unknown() });

/** What the consumer delivers. */
export interface ConcordEventHandlers {
  /** A settings change not seen before (revision above the last one applied for its key). */
  settingsChanged(event: SettingsChangedEvent): void;
}

/** Options of {@link subscribeConcordEvents}. */
export interface ConcordEventsOptions {
  clients: RedisClients;
  /** `{REDIS_PREFIX}events`. */
  channel: string;
  logger: Logger;
  handlers: ConcordEventHandlers;
  /** Keys whose last revision is remembered (bounded; the `bench` namespace allows many keys). */
  dedupKeys?: number;
}

/** The events channel name under `prefix`. */
export const eventsChannel = (prefix: string): string => `${prefix}events`;

/**
 * Subscribes to the events channel. `settings.changed` is deduplicated per key by revision: a
 * revision at or below the last applied for that key is dropped (the outbox delivers at least once,
 * and revisions commit out of order, so only a per-key comparison is sound).
 */
export async function subscribeConcordEvents(options: ConcordEventsOptions): Promise<void> {
  const { logger, handlers } = options;
  const applied = new LRUCache<string, number>({ max: options.dedupKeys ?? 10_000 });

  function onSettingsChanged(data: unknown): void {
    const parsed = settingsChanged.safeParse(data);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.length }, 'ignored malformed settings.changed event');
      return;
    }
    const event = parsed.data;
    const id = `${event.namespace}\u0000${event.key}`;
    const last = applied.get(id);
    if (last !== undefined && event.revision <= last) return;
    applied.set(id, event.revision);
    handlers.settingsChanged(event);
  }

  await options.clients.onChannel(options.channel, (text) => {
    let message: z.infer<typeof envelope>;
    try {
      message = envelope.parse(JSON.parse(text));
    } catch {
      logger.warn({ length: text.length }, 'ignored malformed message on the events channel');
      return;
    }
    if (message.type === 'settings.changed') onSettingsChanged(message.data);
    else logger.debug({ type: message.type }, 'event type not relayed to sockets');
  });
}
