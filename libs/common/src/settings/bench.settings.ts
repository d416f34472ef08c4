import { z } from 'zod';
import { defineSetting, type NamespaceDefinition } from './setting-definition';

/** Keys of namespace `bench`. */
export const BENCH_KEY = /^[a-z0-9_]{1,64}$/;

/**
 * Namespace `bench` (only with `SETTINGS_BENCH_NAMESPACE=true`): any key, integer values, default
 * 0, writable by ceo and manager, no effect on anything. Hot-key tests, benchmarks and load
 * scenarios write only here, never into `api`.
 */
export function benchSettings(): NamespaceDefinition {
  return {
    name: 'bench',
    settings: [],
    rules: [],
    pattern: {
      keys: BENCH_KEY,
      define: (key) =>
        defineSetting({
          key,
          schema: z.int(),
          default: 0,
          writers: ['ceo', 'manager'],
          description: 'Benchmark counter (no effect)',
        }),
    },
  };
}
