import { z } from 'zod';

/**
 * Case-folds a username (NFKC then lower case) so `Alice`, `ALICE` and full-width variants are the
 * same account; the folded form is what is stored and compared.
 */
export function foldUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

/** A new username: 3–64 characters of a conservative alphabet after folding (no look-alikes). */
export const newUsernameSchema = z
  .string()
  .max(256)
  .transform(foldUsername)
  .pipe(
    z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._-]{2,63}$/,
        '3-64 characters: letters, digits, dot, underscore or hyphen, starting with a letter or digit',
      ),
  );

/** A username presented at login: any string up to a sane bound (never reveals the rules). */
export const loginUsernameSchema = z.string().min(1).max(256).transform(foldUsername);
