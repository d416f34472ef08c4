import { countByKey, countLostUpdates } from './lost-updates';

const atZero = () => 0;

describe('countLostUpdates', () => {
  it('finds none when every key rose by exactly its 200s', () => {
    const acks = countByKey(['a', 'b', 'a', 'c', 'a']);

    const result = countLostUpdates(
      acks,
      new Map([
        ['a', 3],
        ['b', 1],
        ['c', 1],
        ['untouched', 0],
      ]),
      atZero,
    );

    expect(result).toEqual({ acknowledged: 5, keysWritten: 3, lost: 0, unacknowledged: 0, examples: [] });
  });

  it('counts an acknowledged write the final value does not show as lost', () => {
    // Two writers both got 200 on one revision of "a": the value rose by 1 for 2 acknowledgements.
    const result = countLostUpdates(
      new Map([
        ['a', 2],
        ['b', 4],
      ]),
      new Map([
        ['a', 1],
        ['b', 4],
      ]),
      atZero,
    );

    expect(result.lost).toBe(1);
    expect(result.unacknowledged).toBe(0);
    expect(result.examples).toEqual([{ key: 'a', start: 0, acknowledged: 2, final: 1 }]);
  });

  it('counts a key that was acknowledged but never stored as lost', () => {
    const result = countLostUpdates(new Map([['gone', 3]]), new Map(), atZero);

    expect(result.lost).toBe(3);
    expect(result.examples[0]).toEqual({ key: 'gone', start: 0, acknowledged: 3, final: undefined });
  });

  it('reports writes that committed without a 200 apart from lost ones', () => {
    const result = countLostUpdates(
      new Map([['a', 1]]),
      new Map([
        ['a', 2],
        ['b', 1],
      ]),
      atZero,
    );

    expect(result.lost).toBe(0);
    expect(result.unacknowledged).toBe(2);
  });

  it("measures the increase from each key's start value", () => {
    const start = (key: string) => (key === 'a' ? 10 : 0);

    const result = countLostUpdates(new Map([['a', 2]]), new Map([['a', 12]]), start);

    expect(result.lost).toBe(0);
    expect(result.unacknowledged).toBe(0);
  });

  it('keeps at most ten examples', () => {
    const acks = new Map(Array.from({ length: 25 }, (_, i) => [`k${i}`, 1]));

    const result = countLostUpdates(acks, new Map(), atZero);

    expect(result.lost).toBe(25);
    expect(result.examples).toHaveLength(10);
  });
});
