import { ROLES } from '@concord/common';
import { z } from 'zod';
import { loginUsernameSchema, newUsernameSchema } from '../domain/username';

// Passwords are bounded so a megabyte "password" cannot be used to burn argon2 time.
const password = z.string().min(1).max(1024);

/** POST /auth/setup and POST /users bodies share the credential shape. */
export const setupBody = z.object({ username: newUsernameSchema, password }).strict();
export const loginBody = z.object({ username: loginUsernameSchema, password }).strict();
export const refreshBody = z.object({ refresh_token: z.string().min(1).max(512) }).strict();
export const revokeBody = z.object({
  token: z.string().min(1).max(16_384),
  token_type_hint: z.enum(['access_token', 'refresh_token']).optional(),
});
export const passwordBody = z.object({ current_password: password, new_password: password }).strict();
export const createUserBody = z
  .object({ username: newUsernameSchema, password, role: z.enum(ROLES) })
  .strict();
export const changeRoleBody = z.object({ role: z.enum(ROLES) }).strict();

export const logoutQuery = z.object({ scope: z.enum(['local', 'others', 'global']).default('local') });
export const sessionsQuery = z.object({ scope: z.enum(['own', 'all']).default('own') });
export const revokeSessionsQuery = z.object({ scope: z.enum(['others', 'all']) });

/** `?limit=&cursor=` of every list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
});

/** Path ids: anything that is not a UUID cannot exist. */
export const uuidParam = z.string().uuid();
