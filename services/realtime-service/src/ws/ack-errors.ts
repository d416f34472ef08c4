import type { RealtimeAck, RealtimeErrorPayload } from '@concord/client';
import { AppError, toAppError, type ErrorName, type Logger } from '@concord/common';

/** `{ok: false, error}` for a catalogue error. */
export function errorAck(error: ErrorName, detail: string): RealtimeAck {
  return { ok: false, error: new AppError(error, detail).toPayload() };
}

/**
 * The `{code, error, detail}` of anything thrown: AppErrors keep their code, outages become 8001,
 * anything else 8000 without internals (logged with its stack, never swallowed).
 */
export function errorPayload(err: unknown, logger: Logger, context: string): RealtimeErrorPayload {
  const { appError, expected } = toAppError(err);
  if (!expected) logger.error({ err }, `${context} failed`);
  return appError.toPayload();
}
