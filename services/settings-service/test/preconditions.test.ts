import {
  benchKey,
  bearer,
  startSettingsHarness,
  type SettingsHarness,
  type TestUser,
} from './support/settings-harness';

let h: SettingsHarness;

beforeAll(async () => {
  h = await startSettingsHarness({ replicas: 2 });
});
afterAll(async () => {
  await h.cleanup();
});

const path = (key: string) => `/api/v1/settings/bench/${key}`;

function get(user: TestUser, key: string, headers: Record<string, string> = {}, replica = 0) {
  return h.http(replica).get(path(key)).set('Authorization', bearer(user)).set(headers);
}

function put(user: TestUser, key: string, value: unknown, headers: Record<string, string> = {}, replica = 0) {
  return h.http(replica).put(path(key)).set('Authorization', bearer(user)).set(headers).send({ value });
}

function del(user: TestUser, key: string, headers: Record<string, string> = {}) {
  return h.http().delete(path(key)).set('Authorization', bearer(user)).set(headers);
}

/** Writes `value` unconditionally and returns the new ETag. */
async function seed(user: TestUser, key: string, value: number): Promise<string> {
  const res = await put(user, key, value);
  expect(res.status).toBe(200);
  return res.headers.etag as string;
}

async function storedRow(key: string) {
  const result = await h.pool.query<{ value: unknown; revision: string }>(
    'SELECT value, revision::text AS revision FROM settings WHERE namespace = $1 AND key = $2',
    ['bench', key],
  );
  return result.rows[0];
}

describe('GET', () => {
  it('when a key was never written, answers its default with revision 0 and ETag "0"', async () => {
    const reader = await h.user('observer');

    const res = await get(reader, benchKey('never'));

    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"0"');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toMatchObject({ value: 0, source: 'default', revision: 0, updated_at: null });
  });

  it('when If-None-Match carries the current ETag, answers 304 with the ETag and no body', async () => {
    const user = await h.user('manager');
    const key = benchKey('inm_current');
    const etag = await seed(user, key, 5);

    const res = await get(user, key, { 'If-None-Match': etag });

    expect(res.status).toBe(304);
    expect(res.headers.etag).toBe(etag);
    expect(res.text ?? '').toBe('');
  });

  it('when If-None-Match carries the current ETag as a weak tag, answers 304 (weak comparison)', async () => {
    const user = await h.user('manager');
    const key = benchKey('inm_weak');
    const etag = await seed(user, key, 5);

    const res = await get(user, key, { 'If-None-Match': `W/${etag}` });

    expect(res.status).toBe(304);
  });

  it('when If-None-Match carries only other ETags, answers 200', async () => {
    const user = await h.user('manager');
    const key = benchKey('inm_other');
    await seed(user, key, 5);

    const res = await get(user, key, { 'If-None-Match': '"0", "999999"' });

    expect(res.status).toBe(200);
    expect(res.body.value).toBe(5);
  });

  it('when If-None-Match is * and the key is at its default, answers 200', async () => {
    const user = await h.user('manager');

    const res = await get(user, benchKey('inm_star_default'), { 'If-None-Match': '*' });

    expect(res.status).toBe(200);
  });

  it('when If-None-Match is * and the key is set, answers 304', async () => {
    const user = await h.user('manager');
    const key = benchKey('inm_star_set');
    await seed(user, key, 1);

    const res = await get(user, key, { 'If-None-Match': '*' });

    expect(res.status).toBe(304);
  });

  it('when If-Match is stale, answers 412 with the current ETag', async () => {
    const user = await h.user('manager');
    const key = benchKey('get_if_match');
    const etag = await seed(user, key, 1);

    const res = await get(user, key, { 'If-Match': '"1"' });

    expect(res.status).toBe(412);
    expect(res.headers.etag).toBe(etag);
  });
});

describe('PUT', () => {
  it('when no precondition is sent (and none is required), writes and answers the new ETag', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_plain');

    const res = await put(user, key, 7);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ value: 7, source: 'stored', updated_by: user.id });
    expect(res.headers.etag).toBe(`"${res.body.revision}"`);
    expect(res.body.revision).toBeGreaterThan(0);
  });

  it('when If-Match carries the current ETag, writes and answers a different ETag', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_current');
    const etag = await seed(user, key, 1);

    const res = await put(user, key, 2, { 'If-Match': etag });

    expect(res.status).toBe(200);
    expect(res.body.value).toBe(2);
    expect(res.headers.etag).not.toBe(etag);
  });

  it('when If-Match is stale, answers 412 code 4002 with the current ETag and setting, and writes nothing', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_stale');
    const first = await seed(user, key, 1);
    const current = await put(user, key, 2, { 'If-Match': first });

    const res = await put(user, key, 3, { 'If-Match': first });

    expect(res.status).toBe(412);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.headers.etag).toBe(current.headers.etag);
    expect(res.body).toMatchObject({
      code: 4002,
      error: 'VERSION_CONFLICT',
      etag: current.headers.etag,
      setting: { key, value: 2, revision: current.body.revision },
    });
    expect((await storedRow(key))?.value).toBe(2);
  });

  it('when If-Match lists several ETags including the current one, writes', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_list_hit');
    const etag = await seed(user, key, 1);

    const res = await put(user, key, 2, { 'If-Match': `"1", ${etag} , "2"` });

    expect(res.status).toBe(200);
  });

  it('when If-Match lists several ETags none of which is current, answers 412', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_list_miss');
    await seed(user, key, 1);

    const res = await put(user, key, 2, { 'If-Match': '"1", "2", "0"' });

    expect(res.status).toBe(412);
  });

  it('when If-Match is * and the key was never written, writes', async () => {
    const user = await h.user('manager');

    const res = await put(user, benchKey('put_star_new'), 4, { 'If-Match': '*' });

    expect(res.status).toBe(200);
  });

  it('when If-Match is * and the key is set, writes', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_star_set');
    await seed(user, key, 1);

    const res = await put(user, key, 4, { 'If-Match': '*' });

    expect(res.status).toBe(200);
    expect(res.body.value).toBe(4);
  });

  it('when If-Match is "0" and the key was never written, inserts it', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_zero_new');

    const res = await put(user, key, 9, { 'If-Match': '"0"' });

    expect(res.status).toBe(200);
    expect((await storedRow(key))?.value).toBe(9);
  });

  it('when If-Match is "0" and the key has been written, answers 412', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_zero_set');
    await seed(user, key, 1);

    const res = await put(user, key, 9, { 'If-Match': '"0"' });

    expect(res.status).toBe(412);
    expect((await storedRow(key))?.value).toBe(1);
  });

  it('when If-Match carries the current ETag as a weak tag, answers 412 (a weak tag never matches)', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_weak');
    const etag = await seed(user, key, 1);

    const res = await put(user, key, 2, { 'If-Match': `W/${etag}` });

    expect(res.status).toBe(412);
  });

  it.each([
    ['an unquoted tag', '5'],
    ['an unterminated tag', '"5'],
    ['* inside a list', '*, "5"'],
    ['a lowercase weak prefix', 'w/"5"'],
    ['tags without a comma', '"5" "6"'],
    ['an empty field', ''],
  ])('when If-Match is malformed (%s), answers 400 code 2001 and writes nothing', async (_label, field) => {
    const user = await h.user('manager');
    const key = benchKey('put_malformed');

    const res = await put(user, key, 1, { 'If-Match': field });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 2001, error: 'REQUEST_VALIDATION_ERROR' });
    expect(await storedRow(key)).toBeUndefined();
  });

  it('when If-None-Match is malformed, answers 400 code 2001', async () => {
    const user = await h.user('manager');

    const res = await put(user, benchKey('put_inm_malformed'), 1, { 'If-None-Match': 'nope' });

    expect(res.status).toBe(400);
    expect(res.body.code).toBe(2001);
  });

  it('when If-None-Match is * and the key is at its default, writes (create only)', async () => {
    const user = await h.user('manager');

    const res = await put(user, benchKey('put_inm_star_new'), 3, { 'If-None-Match': '*' });

    expect(res.status).toBe(200);
  });

  it('when If-None-Match is * and the key is set, answers 412', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_inm_star_set');
    await seed(user, key, 1);

    const res = await put(user, key, 3, { 'If-None-Match': '*' });

    expect(res.status).toBe(412);
  });

  it('when If-None-Match is * and the key was reset (a tombstone), writes', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_inm_star_tomb');
    await seed(user, key, 1);
    expect((await del(user, key)).status).toBe(200);

    const res = await put(user, key, 3, { 'If-None-Match': '*' });

    expect(res.status).toBe(200);
    expect(res.body.value).toBe(3);
  });

  it('when If-None-Match carries the current ETag, answers 412', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_inm_current');
    const etag = await seed(user, key, 1);

    const res = await put(user, key, 3, { 'If-None-Match': etag });

    expect(res.status).toBe(412);
  });

  it('when two replicas insert one new key with If-Match "0" at once, exactly one succeeds', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_zero_race');

    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => put(user, key, i + 1, { 'If-Match': '"0"' }, i % 2)),
    );

    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412, 412]);
    const winner = answers.find((a) => a.status === 200)!;
    expect((await storedRow(key))?.value).toBe(winner.body.value);
  });

  it('when two replicas write one new key unconditionally at once, both succeed and history chains them', async () => {
    const user = await h.user('manager');
    const key = benchKey('put_first_race');

    const answers = await Promise.all([put(user, key, 1, {}, 0), put(user, key, 2, {}, 1)]);

    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const history = await h.pool.query<{ old_value: unknown; new_value: unknown }>(
      'SELECT old_value, new_value FROM settings_history WHERE namespace = $1 AND key = $2 ORDER BY revision',
      ['bench', key],
    );
    const [first, second] = history.rows;
    expect(first?.old_value).toBeNull();
    expect(second?.old_value).toBe(first?.new_value);
  });
});

describe('DELETE', () => {
  it('resets to the default and answers 200 with the setting and a new ETag, keeping a tombstone', async () => {
    const user = await h.user('manager');
    const key = benchKey('del_reset');
    const etag = await seed(user, key, 8);

    const res = await del(user, key, { 'If-Match': etag });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key, value: 0, source: 'default' });
    expect(res.headers.etag).toBe(`"${res.body.revision}"`);
    expect(res.headers.etag).not.toBe(etag);
    expect(await storedRow(key)).toEqual({ value: null, revision: String(res.body.revision) });
  });

  it('when If-Match is stale, answers 412 and keeps the value', async () => {
    const user = await h.user('manager');
    const key = benchKey('del_stale');
    const first = await seed(user, key, 1);
    await put(user, key, 2, { 'If-Match': first });

    const res = await del(user, key, { 'If-Match': first });

    expect(res.status).toBe(412);
    expect((await storedRow(key))?.value).toBe(2);
  });

  it('records the reset in the history with op reset and the old value', async () => {
    const user = await h.user('manager');
    const key = benchKey('del_history');
    await seed(user, key, 6);

    const res = await del(user, key);

    const history = await h.pool.query(
      'SELECT op, old_value, new_value FROM settings_history WHERE revision = $1',
      [res.body.revision],
    );
    expect(history.rows).toEqual([{ op: 'reset', old_value: 6, new_value: null }]);
  });
});

describe('ABA', () => {
  it('when a key is deleted and re-created, its pre-delete ETag is refused', async () => {
    const user = await h.user('manager');
    const key = benchKey('aba');
    const before = await seed(user, key, 1);
    expect((await del(user, key, { 'If-Match': before })).status).toBe(200);
    expect((await put(user, key, 1, { 'If-None-Match': '*' })).status).toBe(200);

    const res = await put(user, key, 2, { 'If-Match': before });

    expect(res.status).toBe(412);
    expect(res.headers.etag).not.toBe(before);
  });

  it('when a key was deleted, If-Match "0" no longer matches it', async () => {
    const user = await h.user('manager');
    const key = benchKey('aba_zero');
    await seed(user, key, 1);
    expect((await del(user, key)).status).toBe(200);

    const res = await put(user, key, 2, { 'If-Match': '"0"' });

    expect(res.status).toBe(412);
  });
});

describe('SETTINGS_REQUIRE_IF_MATCH=true', () => {
  let strict: ReturnType<typeof h.http>;

  beforeAll(async () => {
    const { url } = await h.startReplica({ SETTINGS_REQUIRE_IF_MATCH: 'true' });
    strict = (await import('supertest')).default(url);
  });

  it('answers 428 code 4003 to a PUT without a precondition and writes nothing', async () => {
    const user = await h.user('manager');
    const key = benchKey('strict_put');

    const res = await strict.put(path(key)).set('Authorization', bearer(user)).send({ value: 1 });

    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ code: 4003, error: 'PRECONDITION_REQUIRED' });
    expect(await storedRow(key)).toBeUndefined();
  });

  it('accepts a PUT with If-Match', async () => {
    const user = await h.user('manager');

    const res = await strict
      .put(path(benchKey('strict_put_ok')))
      .set('Authorization', bearer(user))
      .set('If-Match', '"0"')
      .send({ value: 1 });

    expect(res.status).toBe(200);
  });

  it('answers 428 to a DELETE without a precondition', async () => {
    const user = await h.user('manager');
    const key = benchKey('strict_del');
    await seed(user, key, 1);

    const res = await strict.delete(path(key)).set('Authorization', bearer(user));

    expect(res.status).toBe(428);
    expect((await storedRow(key))?.value).toBe(1);
  });

  it('answers 428 to a PATCH with an item without if_match', async () => {
    const user = await h.user('manager');
    const [a, b] = [benchKey('strict_patch_a'), benchKey('strict_patch_b')];

    const res = await strict
      .patch('/api/v1/settings/bench')
      .set('Authorization', bearer(user))
      .send({
        items: [
          { key: a, value: 1, if_match: '"0"' },
          { key: b, value: 1 },
        ],
      });

    expect(res.status).toBe(428);
    expect(await storedRow(a)).toBeUndefined();
  });
});
