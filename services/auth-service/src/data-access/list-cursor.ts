import { z } from 'zod';
import type { Cursor } from '../domain/auth.model';

/**
 * The keyset position of auth's lists (users, sessions): newest first by `(created_at, id)`, both
 * checked before they reach SQL (a cursor comes from the client). Encoded by libs/common's
 * `encodeCursor` as `created_at|id`, the format these lists have always used.
 */
export const listCursor = z
  .tuple([z.iso.datetime(), z.uuid()])
  .transform(([at, id]): Cursor => ({ createdAt: new Date(at), id }));

/** The cursor fields of a row: its `(created_at, id)`. */
export function listCursorFields(row: { createdAt: Date; id: string }): [string, string] {
  return [row.createdAt.toISOString(), row.id];
}
