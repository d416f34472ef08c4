import type { RealtimeMessage } from '@concord/client';

/** Builds the `message` event of DESIGN.md section 6. */
export function buildMessage(
  input: { channel: string; event: string; data: unknown },
  ids: { newId: () => string; now: () => number },
): RealtimeMessage {
  return {
    channel: input.channel,
    event: input.event,
    data: input.data,
    id: ids.newId(),
    ts: new Date(ids.now()).toISOString(),
  };
}
