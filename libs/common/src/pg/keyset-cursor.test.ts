import { z } from 'zod';
import { AppError } from '../errors/app-error';
import { decodeCursor, encodeCursor, parseCursor, toPage } from './keyset-cursor';

// The shape of auth-service's lists: newest first by (created_at, id).
const createdAtId = z
  .tuple([z.iso.datetime(), z.uuid()])
  .transform(([at, id]) => ({ createdAt: new Date(at), id }));

const ID = '2b0e4c3a-3d57-4b8e-9c55-1f6a2d9e7b10';

describe('keyset cursors', () => {
  it('when a cursor is encoded, decodes back to the same key', () => {
    const at = new Date('2026-03-04T05:06:07.089Z');

    const key = decodeCursor(encodeCursor([at.toISOString(), ID]), createdAtId);

    expect(key).toEqual({ createdAt: at, id: ID });
  });

  it('when a cursor was issued before the move to libs/common, still decodes (same encoding)', () => {
    // auth-service's earlier encoder: base64url of `created_at|id`.
    const legacy = Buffer.from(`2026-03-04T05:06:07.089Z|${ID}`).toString('base64url');

    expect(decodeCursor(legacy, createdAtId)).toEqual({
      createdAt: new Date('2026-03-04T05:06:07.089Z'),
      id: ID,
    });
  });

  it.each([
    ['not base64url of anything we wrote', '%%%'],
    ['one field too few', encodeCursor(['2026-03-04T05:06:07.089Z'])],
    ['one field too many', encodeCursor(['2026-03-04T05:06:07.089Z', ID, 'x'])],
    ['an id that is no UUID', encodeCursor(['2026-03-04T05:06:07.089Z', '-'.repeat(36)])],
    ['a date that is no ISO timestamp', encodeCursor(['yesterday', ID])],
  ])('when the cursor has %s, decodes to undefined', (_name, text) => {
    expect(decodeCursor(text, createdAtId)).toBeUndefined();
  });

  it('when a field would contain the separator, refuses to encode it', () => {
    expect(() => encodeCursor(['a|b'])).toThrow(/cannot contain/);
  });

  it('when ?cursor= is absent, parseCursor gives undefined (the first page)', () => {
    expect(parseCursor(undefined, createdAtId)).toBeUndefined();
  });

  it('when ?cursor= is not ours, parseCursor answers 422 naming the parameter', () => {
    const err = (() => {
      try {
        parseCursor('bm90IG91cnM', createdAtId);
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 422, code: 2000, errors: [{ path: 'cursor' }] });
  });
});

describe('toPage', () => {
  const rows = [5, 4, 3].map((revision) => ({ revision }));

  it('when there is one row more than the limit, shows the limit and points the cursor at the last shown', () => {
    const page = toPage(rows, 2, (row) => ['rev', row.revision]);

    expect(page.items).toEqual([{ revision: 5 }, { revision: 4 }]);
    expect(Buffer.from(page.nextCursor!, 'base64url').toString()).toBe('rev|4');
  });

  it('when the rows fit the limit, is the last page', () => {
    expect(toPage(rows, 3, (row) => ['rev', row.revision]).nextCursor).toBeNull();
  });
});
