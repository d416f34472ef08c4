import type { z } from 'zod';
import { AppError } from '../errors/app-error';

/** A page of a keyset-paginated list: `next_cursor` on the wire, null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const SEPARATOR = '|';

/**
 * An opaque cursor: base64url of the sort key's fields joined by `|` (auth's lists use
 * `[created_at, id]`, settings history `['rev', revision]`). Clients must not parse it; the
 * format only has to stay readable by {@link decodeCursor} across a rolling upgrade.
 */
export function encodeCursor(fields: readonly (string | number)[]): string {
  const texts = fields.map(String);
  if (texts.some((field) => field.includes(SEPARATOR))) {
    throw new Error(`a cursor field cannot contain "${SEPARATOR}"`);
  }
  return Buffer.from(texts.join(SEPARATOR)).toString('base64url');
}

/**
 * Decodes a cursor with `schema`, which parses the list of its fields (e.g. a `z.tuple` of an ISO
 * timestamp and a UUID): a cursor comes from the client, so every field is checked before it
 * reaches SQL. Undefined when it is not a cursor `schema` accepts.
 */
export function decodeCursor<K>(text: string, schema: z.ZodType<K>): K | undefined {
  const parsed = schema.safeParse(Buffer.from(text, 'base64url').toString('utf8').split(SEPARATOR));
  return parsed.success ? parsed.data : undefined;
}

/** {@link decodeCursor} for a `?cursor=` parameter: absent is undefined, anything not ours is 422. */
export function parseCursor<K>(text: string | undefined, schema: z.ZodType<K>): K | undefined {
  if (text === undefined) return undefined;
  const key = decodeCursor(text, schema);
  if (key === undefined) {
    throw new AppError('VALIDATION_ERROR', 'The cursor is invalid', {
      errors: [{ path: 'cursor', message: 'not a cursor returned by this API' }],
    });
  }
  return key;
}

/**
 * Builds a page from `limit + 1` rows in the list's order: the extra row only says that another
 * page exists, and the cursor points at the last row shown.
 */
export function toPage<R>(
  rows: R[],
  limit: number,
  fieldsOf: (row: R) => readonly (string | number)[],
): Page<R> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(fieldsOf(last)) : null,
  };
}
