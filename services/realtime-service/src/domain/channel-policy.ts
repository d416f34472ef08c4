import { createHash } from 'node:crypto';
import type { Role } from '@concord/common';

/** Channel names (DESIGN.md section 6). */
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9:._-]{0,127}$/;

/** At most this many subscriptions per socket (DESIGN.md section 6). */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/** Who asks. */
export interface Subscriber {
  userId: string;
  role: Role;
}

/** Why a channel is refused; each maps to a catalogue code (2000, 1001). */
export type ChannelDenial = 'invalid-name' | 'forbidden';

/** A channel as the server routes it. */
export type ChannelTarget =
  /** `user:{id}`: delivered through the server-only room `u:{id}`, never a subscription. */
  { kind: 'user'; userId: string; room: string } | { kind: 'shared'; room: string };

function firstSegment(channel: string): string {
  const colon = channel.indexOf(':');
  return colon === -1 ? channel : channel.slice(0, colon);
}

/** `session:*` carries per-session control and `internal:*` is reserved: nobody subscribes or publishes there. */
function isReserved(channel: string): boolean {
  const head = firstSegment(channel);
  return head === 'session' || head === 'internal';
}

function isBudget(channel: string): boolean {
  return firstSegment(channel) === 'budget';
}

/** Room of a user's own channel and of the per-session control room. */
export const userRoom = (userId: string): string => `u:${userId}`;
export const sessionRoom = (sid: string): string => `s:${sid}`;
export const channelRoom = (channel: string): string => `ch:${channel}`;

/** Resolves where a (valid) channel name is delivered. */
export function targetOf(channel: string): ChannelTarget {
  if (firstSegment(channel) === 'user') {
    const userId = channel.slice('user:'.length);
    return { kind: 'user', userId, room: userRoom(userId) };
  }
  return { kind: 'shared', room: channelRoom(channel) };
}

/**
 * May `who` subscribe to `channel`? The rules of DESIGN.md section 6: `user:{id}` only for that user,
 * `budget` and `budget:*` only for ceo and manager, `session:*` and `internal:*` never, every other
 * valid name for any authenticated user.
 */
export function checkSubscribe(channel: string, who: Subscriber): ChannelDenial | undefined {
  if (!CHANNEL_NAME.test(channel)) return 'invalid-name';
  if (isReserved(channel)) return 'forbidden';
  if (firstSegment(channel) === 'user') return channel === `user:${who.userId}` ? undefined : 'forbidden';
  if (isBudget(channel) && who.role !== 'ceo' && who.role !== 'manager') return 'forbidden';
  return undefined;
}

/** May a (ceo/manager) publisher address `channel` through the HTTP API? Reserved names never. */
export function checkPublish(channel: string): ChannelDenial | undefined {
  if (!CHANNEL_NAME.test(channel)) return 'invalid-name';
  return isReserved(channel) ? 'forbidden' : undefined;
}

/**
 * A channel as it may appear in logs: its first segment and a short hash, so denials can be
 * correlated without writing user ids or budget names into the log.
 */
export function redactChannel(channel: string): string {
  const hash = createHash('sha256').update(channel).digest('hex').slice(0, 12);
  const head = CHANNEL_NAME.test(channel) ? firstSegment(channel) : 'invalid';
  return `${head}:#${hash}`;
}
