import { randomBytes } from 'node:crypto';
import {
  benchKey,
  bearer,
  startSettingsHarness,
  type SettingsHarness,
  type TestUser,
} from './support/settings-harness';

let h: SettingsHarness;

beforeAll(async () => {
  h = await startSettingsHarness({ env: { LOG_LEVEL: 'trace' } });
});
afterAll(async () => {
  await h.cleanup();
});

const MASKED = '[redacted]';

/** A key-file path nobody else uses, so finding it anywhere proves a leak. */
function secretPath(): string {
  return `/etc/concord/tls/key-${randomBytes(8).toString('hex')}.pem`;
}

async function setPair(ceo: TestUser, keyfile: string) {
  const res = await h
    .http()
    .patch('/api/v1/settings/api')
    .set('Authorization', bearer(ceo))
    .send({
      items: [
        { key: 'ssl_certfile', value: '/etc/concord/tls/cert.pem' },
        { key: 'ssl_keyfile', value: keyfile },
      ],
    });
  expect(res.status).toBe(200);
  return res;
}

describe('masking of sensitive values (ssl_keyfile)', () => {
  it('a write answers the value masked, while the table holds the real one', async () => {
    const ceo = await h.user('ceo');
    const keyfile = secretPath();

    const res = await setPair(ceo, keyfile);

    const item = (res.body.items as { key: string; value: unknown; sensitive: boolean }[]).find(
      (i) => i.key === 'ssl_keyfile',
    );
    expect(item).toMatchObject({ value: MASKED, sensitive: true });
    const stored = await h.pool.query(
      "SELECT value FROM settings WHERE namespace = 'api' AND key = 'ssl_keyfile'",
    );
    expect(stored.rows[0]).toEqual({ value: keyfile });
  });

  it('GET of the key and of the namespace show it masked', async () => {
    const ceo = await h.user('ceo');
    const keyfile = secretPath();
    await setPair(ceo, keyfile);

    const one = await h.http().get('/api/v1/settings/api/ssl_keyfile').set('Authorization', bearer(ceo));
    const list = await h.http().get('/api/v1/settings/api').set('Authorization', bearer(ceo));

    expect(one.body.value).toBe(MASKED);
    expect(list.text).not.toContain(keyfile);
    expect(
      (list.body.items as { key: string; value: unknown }[]).find((i) => i.key === 'ssl_keyfile')?.value,
    ).toBe(MASKED);
  });

  it('history shows old and new values masked', async () => {
    const ceo = await h.user('ceo');
    const first = secretPath();
    const second = secretPath();
    await setPair(ceo, first);
    await setPair(ceo, second);

    const res = await h
      .http()
      .get('/api/v1/settings/api/ssl_keyfile/history?limit=1')
      .set('Authorization', bearer(ceo));

    expect(res.status).toBe(200);
    expect(res.body.items[0]).toMatchObject({ op: 'set', old_value: MASKED, new_value: MASKED });
    expect(res.text).not.toContain(first);
    expect(res.text).not.toContain(second);
  });

  it('a 412 body shows the current value masked', async () => {
    const ceo = await h.user('ceo');
    const keyfile = secretPath();
    await setPair(ceo, keyfile);

    const res = await h
      .http()
      .put('/api/v1/settings/api/ssl_keyfile')
      .set('Authorization', bearer(ceo))
      .set('If-Match', '"0"')
      .send({ value: secretPath() });

    expect(res.status).toBe(412);
    expect(res.body.setting.value).toBe(MASKED);
    expect(res.text).not.toContain(keyfile);
  });

  it('no log line, at trace level, carries the value', async () => {
    const ceo = await h.user('ceo');
    const keyfile = secretPath();
    const rejected = secretPath();

    await setPair(ceo, keyfile);
    await h
      .http()
      .put('/api/v1/settings/api/ssl_keyfile')
      .set('Authorization', bearer(ceo))
      .set('If-Match', '"0"')
      .send({ value: rejected });
    await h.http().get('/api/v1/settings/api/ssl_keyfile/history').set('Authorization', bearer(ceo));

    expect(h.logs.length).toBeGreaterThan(0);
    expect(h.logs.filter((line) => line.includes(keyfile) || line.includes(rejected))).toEqual([]);
  });
});

describe('GET …/{key}/history', () => {
  it('lists changes newest first in cursor pages, with op, values, writer and request id', async () => {
    const manager = await h.user('manager');
    const key = benchKey('history');
    const path = `/api/v1/settings/bench/${key}`;
    for (const value of [1, 2, 3]) {
      await h
        .http()
        .put(path)
        .set('Authorization', bearer(manager))
        .set('X-Request-Id', `req-${value}`)
        .send({ value });
    }
    await h.http().delete(path).set('Authorization', bearer(manager)).set('X-Request-Id', 'req-reset');

    const first = await h.http().get(`${path}/history?limit=3`).set('Authorization', bearer(manager));
    const second = await h
      .http()
      .get(`${path}/history?limit=3&cursor=${first.body.next_cursor as string}`)
      .set('Authorization', bearer(manager));

    expect(first.status).toBe(200);
    expect(first.body.items).toMatchObject([
      { op: 'reset', old_value: 3, new_value: null, request_id: 'req-reset', updated_by: manager.id },
      { op: 'set', old_value: 2, new_value: 3, request_id: 'req-3' },
      { op: 'set', old_value: 1, new_value: 2, request_id: 'req-2' },
    ]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(second.body).toMatchObject({
      items: [{ op: 'set', old_value: null, new_value: 1, request_id: 'req-1' }],
      next_cursor: null,
    });
    const revisions = [...first.body.items, ...second.body.items].map(
      (i: { revision: number }) => i.revision,
    );
    expect(revisions).toEqual([...revisions].sort((a, b) => b - a));
  });

  it('when the cursor is not one of ours, answers 422 naming it', async () => {
    const manager = await h.user('manager');

    const res = await h
      .http()
      .get(`/api/v1/settings/bench/${benchKey('cursor')}/history?cursor=bm90LWEtY3Vyc29y`)
      .set('Authorization', bearer(manager));

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'cursor', message: expect.any(String) }]);
  });

  it('a derived key has no history: 404', async () => {
    const manager = await h.user('manager');

    const res = await h
      .http()
      .get('/api/v1/settings/api/setup_complete/history')
      .set('Authorization', bearer(manager));

    expect(res.status).toBe(404);
  });
});
