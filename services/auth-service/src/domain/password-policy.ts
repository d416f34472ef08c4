import { AppError } from '@concord/common';

/** 422 naming `path` when `password` is shorter than the live `min_password_length`. */
export function checkPasswordStrength(password: string, min: number, path: string): void {
  if (password.length < min) {
    throw new AppError('VALIDATION_ERROR', 'The password is too short', {
      errors: [{ path, message: `must be at least ${min} characters` }],
    });
  }
}
