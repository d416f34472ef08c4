import { createRevisionDedupe } from './revision-dedupe';

describe('createRevisionDedupe', () => {
  it('when the same revision of a key arrives twice, accepts it once', () => {
    const dedupe = createRevisionDedupe();

    const answers = [dedupe.accept('api/k', 5), dedupe.accept('api/k', 5)];

    expect(answers).toEqual([true, false]);
  });

  it('when an older revision of a key arrives after a newer one, refuses it', () => {
    const dedupe = createRevisionDedupe();
    dedupe.accept('api/k', 9);

    expect(dedupe.accept('api/k', 7)).toBe(false);
    expect(dedupe.last('api/k')).toBe(9);
  });

  it('when another key arrives with a lower revision, accepts it (no global high-water mark)', () => {
    const dedupe = createRevisionDedupe();
    dedupe.accept('api/a', 9);

    expect(dedupe.accept('api/b', 7)).toBe(true);
  });
});
