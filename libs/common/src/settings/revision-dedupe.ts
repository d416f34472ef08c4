import { LRUCache } from 'lru-cache';

/** Remembers the last revision applied per key and refuses anything at or below it. */
export interface RevisionDedupe {
  /** True (and remembered) when `revision` is above the last one accepted for `id`. */
  accept(id: string, revision: number): boolean;
  /** The last revision accepted for `id`, if remembered. */
  last(id: string): number | undefined;
}

/**
 * Per-key, never a global high-water mark (DESIGN.md section 5): revisions come from one global
 * sequence but commit out of order, so key B's revision 7 may arrive after key A's revision 9 and is
 * still new. Bounded, since the `bench` namespace allows any number of keys: a key evicted after
 * `maxKeys` others were seen since could be delivered once more, never missed.
 */
export function createRevisionDedupe(maxKeys = 100_000): RevisionDedupe {
  const applied = new LRUCache<string, number>({ max: maxKeys });
  return {
    accept(id, revision) {
      const last = applied.get(id);
      if (last !== undefined && revision <= last) return false;
      applied.set(id, revision);
      return true;
    },
    last: (id) => applied.peek(id),
  };
}
