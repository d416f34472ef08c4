import { createUuidV7 } from './uuid-v7';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createUuidV7', () => {
  it('encodes the millisecond timestamp in the first 48 bits with version 7 and the RFC 9562 variant', () => {
    const ms = Date.UTC(2026, 10, 24, 12, 0, 0, 123);
    const id = createUuidV7({ now: () => ms })();

    expect(id).toMatch(FORMAT);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts in creation order within one millisecond and across a counter overflow', () => {
    const next = createUuidV7({ now: () => 1_700_000_000_000 });

    const ids = Array.from({ length: 5_000 }, () => next());

    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => FORMAT.test(id))).toBe(true);
  });

  it('stays ordered when the clock steps back', () => {
    let ms = 1_700_000_000_500;
    const next = createUuidV7({ now: () => ms });
    const first = next();
    ms -= 400;

    expect(next() > first).toBe(true);
  });
});
