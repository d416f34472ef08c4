import { AppError } from '@concord/common';
import {
  conditionHolds,
  evaluateRead,
  parseTagCondition,
  toWriteCondition,
  writeHolds,
  type Preconditions,
  type VersionState,
} from './preconditions';

describe('parseTagCondition (RFC 9110 section 13.1.1 syntax)', () => {
  it('reads * alone', () => {
    expect(parseTagCondition('If-Match', ' * ')).toEqual({ any: true });
  });

  it('reads a list of strong and weak tags with optional whitespace and empty elements', () => {
    expect(parseTagCondition('If-Match', '"1" ,W/"2",, "x-y"')).toEqual({
      any: false,
      tags: [
        { weak: false, opaque: '1' },
        { weak: true, opaque: '2' },
        { weak: false, opaque: 'x-y' },
      ],
    });
  });

  it('accepts the empty opaque tag ""', () => {
    expect(parseTagCondition('If-Match', '""')).toEqual({ any: false, tags: [{ weak: false, opaque: '' }] });
  });

  it.each(['5', '"5', '*,"5"', 'w/"5"', '"5" "6"', '', ' , ', '"a b"', 'W/ "5"', '"5"x'])(
    'refuses %j with 400 code 2001',
    (field) => {
      let thrown: unknown;
      try {
        parseTagCondition('If-Match', field);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({ status: 400, code: 2001 });
    },
  );
});

const tags = (...list: string[]) => ({
  any: false as const,
  tags: list.map((t) =>
    t.startsWith('W/') ? { weak: true, opaque: t.slice(2) } : { weak: false, opaque: t },
  ),
});

describe('writeHolds', () => {
  const set: VersionState = { revision: 7, atDefault: false };
  const tombstone: VersionState = { revision: 9, atDefault: true };
  const absent: VersionState = { revision: 0, atDefault: true };

  it.each<[string, Preconditions, VersionState, boolean]>([
    ['no precondition', {}, set, true],
    ['If-Match * on a never-written key', { ifMatch: { any: true } }, absent, true],
    ['If-Match current', { ifMatch: tags('7') }, set, true],
    ['If-Match weak current', { ifMatch: tags('W/7') }, set, false],
    ['If-Match list with current', { ifMatch: tags('1', '7') }, set, true],
    ['If-Match "0" on no row', { ifMatch: tags('0') }, absent, true],
    ['If-Match "0" on a tombstone', { ifMatch: tags('0') }, tombstone, false],
    ['If-Match "07" (not our spelling)', { ifMatch: tags('07') }, set, false],
    ['If-None-Match * at default', { ifNoneMatch: { any: true } }, tombstone, true],
    ['If-None-Match * when set', { ifNoneMatch: { any: true } }, set, false],
    ['If-None-Match weak current', { ifNoneMatch: tags('W/7') }, set, false],
    ['If-None-Match other', { ifNoneMatch: tags('8') }, set, true],
    ['both, If-Match failing', { ifMatch: tags('6'), ifNoneMatch: tags('8') }, set, false],
  ])('%s → %s', (_label, p, state, expected) => {
    expect(writeHolds(p, state)).toBe(expected);
  });
});

describe('toWriteCondition', () => {
  const conditions: Preconditions[] = [
    {},
    { ifMatch: { any: true } },
    { ifMatch: tags('0') },
    { ifMatch: tags('3') },
    { ifMatch: tags('0', '3', 'W/4') },
    { ifMatch: tags('W/3') },
    { ifNoneMatch: { any: true } },
    { ifNoneMatch: tags('3') },
    { ifNoneMatch: tags('0') },
    { ifMatch: tags('3', '4'), ifNoneMatch: tags('4') },
    { ifMatch: { any: true }, ifNoneMatch: { any: true } },
  ];
  const states: VersionState[] = [
    { revision: 0, atDefault: true },
    { revision: 3, atDefault: false },
    { revision: 3, atDefault: true },
    { revision: 4, atDefault: false },
  ];

  it('judges every state exactly as writeHolds does (the SQL evaluates the condition it yields)', () => {
    const disagreements = conditions.flatMap((p) =>
      states
        .filter((state) => conditionHolds(toWriteCondition(p), state) !== writeHolds(p, state))
        .map((state) => ({ p, state })),
    );

    expect(disagreements).toEqual([]);
  });
});

describe('evaluateRead (GET)', () => {
  const state: VersionState = { revision: 5, atDefault: false };

  it('answers not-modified when If-None-Match matches, failed when If-Match does not', () => {
    expect(evaluateRead({ ifNoneMatch: tags('5') }, state)).toBe('not-modified');
    expect(evaluateRead({ ifMatch: tags('4'), ifNoneMatch: tags('5') }, state)).toBe('failed');
    expect(evaluateRead({ ifNoneMatch: tags('4') }, state)).toBe('ok');
  });
});
