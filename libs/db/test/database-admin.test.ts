import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '../src/database-admin';

const SERVER = 'postgresql://postgres@127.0.0.1:5432';

describe('ensureDatabase', () => {
  it('creates a missing database once, even when several processes ask at the same time', async () => {
    const url = `${SERVER}/concord_test_${randomBytes(8).toString('hex')}`;
    try {
      const results = await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);

      expect(results.filter((result) => result.created)).toHaveLength(1);
      await expect(ensureDatabase(url)).resolves.toEqual({ created: false });
    } finally {
      await dropDatabase(url);
    }
  });

  it('when the server cannot be reached, rejects instead of reporting success', async () => {
    await expect(ensureDatabase('postgresql://postgres@127.0.0.1:1/concord')).rejects.toThrow();
  });
});
