import { z } from 'zod';

/** `{event, data}` of a published message; `data` is any JSON value (null when absent). */
export const publishBody = z
  .object({
    event: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/, 'letters, digits and : . _ - only, at most 64'),
    data: z.unknown().optional(),
  })
  .strict();

/** A user id in the path. */
export const userIdParam = z.uuid({ error: 'must be a UUID' });
