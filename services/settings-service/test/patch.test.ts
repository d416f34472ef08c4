import {
  benchKey,
  bearer,
  startSettingsHarness,
  type SettingsHarness,
  type TestUser,
} from './support/settings-harness';

let h: SettingsHarness;

beforeAll(async () => {
  h = await startSettingsHarness();
});
afterAll(async () => {
  await h.cleanup();
});

function patch(user: TestUser, namespace: string, items: unknown[], headers: Record<string, string> = {}) {
  return h
    .http()
    .patch(`/api/v1/settings/${namespace}`)
    .set('Authorization', bearer(user))
    .set(headers)
    .send({ items });
}

async function seed(user: TestUser, key: string, value: number): Promise<string> {
  const res = await h
    .http()
    .put(`/api/v1/settings/bench/${key}`)
    .set('Authorization', bearer(user))
    .send({ value });
  expect(res.status).toBe(200);
  return res.headers.etag as string;
}

/** The stored rows and history entries of `keys`, to prove a refused batch wrote nothing. */
async function snapshot(namespace: string, keys: string[]) {
  const rows = await h.pool.query(
    'SELECT key, value, revision::text AS revision FROM settings WHERE namespace = $1 AND key = ANY($2) ORDER BY key',
    [namespace, keys],
  );
  const history = await h.pool.query(
    'SELECT count(*)::int AS n FROM settings_history WHERE namespace = $1 AND key = ANY($2)',
    [namespace, keys],
  );
  return { rows: rows.rows, history: (history.rows[0] as { n: number }).n };
}

describe('PATCH /settings/{ns}', () => {
  it('when every item is current, writes them all and answers each with its ETag', async () => {
    const user = await h.user('manager');
    const [a, b] = [benchKey('batch_a'), benchKey('batch_b')];
    const etagA = await seed(user, a, 1);

    const res = await patch(user, 'bench', [
      { key: a, value: 2, if_match: etagA },
      { key: b, value: 3, if_match: '"0"' },
    ]);

    expect(res.status).toBe(200);
    expect(res.body.items).toMatchObject([
      { key: a, value: 2, source: 'stored' },
      { key: b, value: 3, source: 'stored' },
    ]);
    for (const item of res.body.items as { etag: string; revision: number }[]) {
      expect(item.etag).toBe(`"${item.revision}"`);
    }
    expect((await snapshot('bench', [a, b])).rows.map((r: { value: unknown }) => r.value)).toEqual([2, 3]);
  });

  it('when one item is stale, answers 412 listing it with its current ETag and writes nothing at all', async () => {
    const user = await h.user('manager');
    const [a, b, c] = [benchKey('stale_a'), benchKey('stale_b'), benchKey('stale_c')];
    const etagA = await seed(user, a, 1);
    const oldB = await seed(user, b, 1);
    const currentB = await h
      .http()
      .put(`/api/v1/settings/bench/${b}`)
      .set('Authorization', bearer(user))
      .send({ value: 5 });
    const before = await snapshot('bench', [a, b, c]);

    const res = await patch(user, 'bench', [
      { key: a, value: 10, if_match: etagA },
      { key: b, value: 10, if_match: oldB },
      { key: c, value: 10, if_match: '"0"' },
    ]);

    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({
      code: 4002,
      stale: [{ key: b, etag: currentB.headers.etag, setting: { value: 5 } }],
    });
    expect(await snapshot('bench', [a, b, c])).toEqual(before);
  });

  it('when an item has value null, resets that key to its default', async () => {
    const user = await h.user('manager');
    const key = benchKey('batch_reset');
    const etag = await seed(user, key, 4);

    const res = await patch(user, 'bench', [{ key, value: null, if_match: etag }]);

    expect(res.status).toBe(200);
    expect(res.body.items[0]).toMatchObject({ key, value: 0, source: 'default' });
    const history = await h.pool.query('SELECT op FROM settings_history WHERE revision = $1', [
      res.body.items[0].revision,
    ]);
    expect(history.rows).toEqual([{ op: 'reset' }]);
  });

  it('when a key appears twice, answers 422 naming the second item', async () => {
    const user = await h.user('manager');
    const key = benchKey('batch_twice');

    const res = await patch(user, 'bench', [
      { key, value: 1 },
      { key, value: 2 },
    ]);

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'items.1.key', message: expect.any(String) }]);
  });

  it('when one item names an unknown key, answers 404 and writes nothing', async () => {
    const user = await h.user('manager');
    const key = benchKey('batch_unknown');

    const res = await patch(user, 'bench', [
      { key, value: 1 },
      { key: 'Not-A-Key', value: 1 },
    ]);

    expect(res.status).toBe(404);
    expect((await snapshot('bench', [key])).rows).toEqual([]);
  });

  it('when one value is invalid, answers 422 with that item path and writes nothing', async () => {
    const user = await h.user('manager');
    const [a, b] = [benchKey('batch_bad_a'), benchKey('batch_bad_b')];

    const res = await patch(user, 'bench', [
      { key: a, value: 1 },
      { key: b, value: 'many' },
    ]);

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'items.1.value', message: expect.any(String) }]);
    expect((await snapshot('bench', [a, b])).rows).toEqual([]);
  });

  it('when an item if_match is malformed, answers 422 naming it', async () => {
    const user = await h.user('manager');

    const res = await patch(user, 'bench', [{ key: benchKey('batch_bad_tag'), value: 1, if_match: 'W/3' }]);

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'items.0.if_match', message: expect.any(String) }]);
  });

  it('when the request carries an If-Match header, answers 400 instead of ignoring it', async () => {
    const user = await h.user('manager');
    const key = benchKey('batch_header');

    const res = await patch(user, 'bench', [{ key, value: 1 }], { 'If-Match': '"0"' });

    expect(res.status).toBe(400);
    expect((await snapshot('bench', [key])).rows).toEqual([]);
  });

  it('when the namespace is unknown, answers 404', async () => {
    const user = await h.user('manager');

    const res = await patch(user, 'nope', [{ key: 'a', value: 1 }]);

    expect(res.status).toBe(404);
    expect(res.body.code).toBe(3000);
  });

  it('when the body has no items, answers 422', async () => {
    const user = await h.user('manager');

    const res = await patch(user, 'bench', []);

    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('items');
  });
});

describe('the TLS pair, validated on the resulting state', () => {
  async function clearTls(user: TestUser): Promise<void> {
    const res = await patch(user, 'api', [
      { key: 'ssl_ca_certs', value: null },
      { key: 'ssl_certfile', value: null },
      { key: 'ssl_keyfile', value: null },
    ]);
    expect(res.status).toBe(200);
  }

  it('when a certificate is set without a key, answers 422 naming ssl_keyfile and writes nothing', async () => {
    const ceo = await h.user('ceo');
    await clearTls(ceo);
    const before = await snapshot('api', ['ssl_certfile', 'ssl_keyfile']);

    const res = await h
      .http()
      .put('/api/v1/settings/api/ssl_certfile')
      .set('Authorization', bearer(ceo))
      .send({ value: '/etc/concord/tls/cert.pem' });

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { path: 'ssl_keyfile', message: 'ssl_certfile and ssl_keyfile must be set together' },
    ]);
    expect(await snapshot('api', ['ssl_certfile', 'ssl_keyfile'])).toEqual(before);
  });

  it('when certificate and key are set in one PATCH, accepts both', async () => {
    const ceo = await h.user('ceo');
    await clearTls(ceo);

    const res = await patch(ceo, 'api', [
      { key: 'ssl_certfile', value: '/etc/concord/tls/cert.pem' },
      { key: 'ssl_keyfile', value: '/etc/concord/tls/key.pem' },
    ]);

    expect(res.status).toBe(200);
    const stored = await snapshot('api', ['ssl_certfile', 'ssl_keyfile']);
    expect(stored.rows.map((r: { value: unknown }) => r.value)).toEqual([
      '/etc/concord/tls/cert.pem',
      '/etc/concord/tls/key.pem',
    ]);
  });

  it('when only the key is reset while a certificate stays, answers 422', async () => {
    const ceo = await h.user('ceo');
    await clearTls(ceo);
    await patch(ceo, 'api', [
      { key: 'ssl_certfile', value: '/etc/concord/tls/cert.pem' },
      { key: 'ssl_keyfile', value: '/etc/concord/tls/key.pem' },
    ]);

    const res = await h.http().delete('/api/v1/settings/api/ssl_keyfile').set('Authorization', bearer(ceo));

    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('ssl_keyfile');
  });

  it('when a CA is set without the pair, answers 422 naming ssl_ca_certs', async () => {
    const ceo = await h.user('ceo');
    await clearTls(ceo);

    const res = await patch(ceo, 'api', [{ key: 'ssl_ca_certs', value: '/etc/concord/tls/ca.pem' }]);

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'ssl_ca_certs', message: expect.stringMatching(/requires/) }]);
  });

  it('when one batch adds a CA while another clears the pair (disjoint keys), they never both commit', async () => {
    const ceo = await h.user('ceo');
    const violations: unknown[] = [];
    for (let round = 0; round < 40; round++) {
      await clearTls(ceo);
      await patch(ceo, 'api', [
        { key: 'ssl_certfile', value: '/etc/concord/tls/cert.pem' },
        { key: 'ssl_keyfile', value: '/etc/concord/tls/key.pem' },
      ]);

      // Each batch is valid on the state before the other: a CA needs the pair, clearing the pair
      // is fine without a CA. Together they leave a CA without a pair (write skew).
      await Promise.all([
        patch(ceo, 'api', [{ key: 'ssl_ca_certs', value: '/etc/concord/tls/ca.pem' }]),
        patch(ceo, 'api', [
          { key: 'ssl_certfile', value: null },
          { key: 'ssl_keyfile', value: null },
        ]),
      ]);

      const rows = await h.pool.query<{ key: string; value: string | null }>(
        "SELECT key, value FROM settings WHERE namespace = 'api' AND key LIKE 'ssl_%' AND value IS NOT NULL",
      );
      const set = rows.rows
        .filter((r) => r.value !== '')
        .map((r) => r.key)
        .sort();
      if (set.length === 1) violations.push({ round, set });
    }

    expect(violations).toEqual([]);
  });
});
