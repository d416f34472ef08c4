import type { SettingDefinition } from './setting-definition';

/** Where a setting's effective value comes from (DESIGN.md section 5). */
export type SettingSource = 'stored' | 'env' | 'default';

/** A setting's value in one process and where it came from. */
export interface EffectiveValue {
  value: unknown;
  source: SettingSource;
}

/** The candidates of {@link effectiveValue}; `undefined` (and a stored `null`, a tombstone) = none. */
export interface ValueCandidates {
  stored?: unknown;
  env?: unknown;
}

/**
 * DESIGN.md section 5 precedence. Restart keys: env > stored > default, because a process reads them
 * once at start and its own environment is the operator's last word for that process. Live keys:
 * stored > env > default, because a live change must reach every process, so the env value is only
 * that process's default. A tombstone (stored `null`, a reset) counts as "not stored".
 */
export function effectiveValue(
  def: Pick<SettingDefinition, 'restartRequired' | 'default'>,
  candidates: ValueCandidates,
): EffectiveValue {
  const stored =
    candidates.stored === undefined || candidates.stored === null ? undefined : candidates.stored;
  const order: [SettingSource, unknown][] = def.restartRequired
    ? [
        ['env', candidates.env],
        ['stored', stored],
      ]
    : [
        ['stored', stored],
        ['env', candidates.env],
      ];
  const winner = order.find(([, value]) => value !== undefined);
  return winner ? { value: winner[1], source: winner[0] } : { value: def.default, source: 'default' };
}
