import { z } from 'zod';

/** PUT /settings/{ns}/{key}. Resetting is DELETE, so `null` is not a value here. */
export const putBody = z
  .object({
    value: z.json().refine((v) => v !== null, { message: 'null is not a value; DELETE resets a key' }),
  })
  .strict();

/** PATCH /settings/{ns}: `value: null` resets the key; `if_match` is an If-Match field value. */
export const patchBody = z
  .object({
    items: z
      .array(
        z
          .object({
            key: z.string().max(200),
            value: z.json(),
            if_match: z.string().max(4096).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict();

/** `?limit=&cursor=` of history pages. */
export const historyQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
