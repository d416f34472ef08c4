import { AppError, type Role, type SettingDefinition } from '@concord/common';

/**
 * Refuses a write `role` may not make, saying why (403, code 1001): a read-only key refuses
 * everybody, other keys refuse roles outside their writers (restart_required keys: ceo only).
 */
export function assertMayWrite(namespace: string, def: SettingDefinition, role: Role): void {
  const name = `${namespace}.${def.key}`;
  if (!def.writable) {
    const why = def.derive ? 'it is derived from other data' : 'it is read-only through the API';
    throw new AppError('FORBIDDEN', `${name} cannot be written: ${why}`, {
      data: { reason: 'read_only', setting: name },
    });
  }
  if (!def.writers.includes(role)) {
    const kind = def.restartRequired ? ' (restart_required)' : '';
    throw new AppError('FORBIDDEN', `${name}${kind} may be written by ${def.writers.join(', ')} only`, {
      data: { reason: 'role', setting: name, writers: [...def.writers] },
    });
  }
}
