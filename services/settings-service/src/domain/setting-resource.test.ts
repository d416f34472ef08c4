import { defineSetting } from '@concord/common';
import { z } from 'zod';
import { MASKED, resolveSetting } from './setting-resource';
import type { StoredSetting } from './settings.ports';

const live = defineSetting({ key: 'limit', schema: z.int(), default: 100, description: '' });
const restart = defineSetting({
  key: 'port',
  restartRequired: true,
  schema: z.int(),
  default: 3001,
  description: '',
});
const secret = defineSetting({
  key: 'keyfile',
  sensitive: true,
  schema: z.string(),
  default: '',
  description: '',
});

function row(value: unknown, revision = 4): StoredSetting {
  return { namespace: 'api', key: 'k', value, revision, updatedAt: new Date(0), updatedBy: 'u' };
}

function resolve(def: typeof live, stored: StoredSetting | undefined, envValue?: unknown) {
  return resolveSetting({ namespace: 'api', def, row: stored, envValue });
}

describe('resolveSetting', () => {
  it.each<[string, typeof live, StoredSetting | undefined, unknown, unknown, string]>([
    ['live: stored beats env', live, row(5), 7, 5, 'stored'],
    ['live: env beats default', live, undefined, 7, 7, 'env'],
    ['live: a tombstone falls back to env', live, row(null), 7, 7, 'env'],
    ['live: default last', live, undefined, undefined, 100, 'default'],
    ['restart: env beats stored', restart, row(8080), 4201, 4201, 'env'],
    ['restart: stored beats default', restart, row(8080), undefined, 8080, 'stored'],
    ['restart: a tombstone is the default', restart, row(null), undefined, 3001, 'default'],
  ])('%s', (_label, def, stored, envValue, value, source) => {
    expect(resolve(def, stored, envValue).resource).toMatchObject({ value, source });
  });

  it('revision 0 and at default without a row; a tombstone keeps its revision and is at default', () => {
    expect(resolve(live, undefined).state).toEqual({ revision: 0, atDefault: true });
    expect(resolve(live, row(null, 9)).state).toEqual({ revision: 9, atDefault: true });
    expect(resolve(live, row(3, 9)).state).toEqual({ revision: 9, atDefault: false });
  });

  it('masks a sensitive value, default included', () => {
    expect(resolve(secret, row('/etc/key.pem')).resource.value).toBe(MASKED);
    expect(resolve(secret, undefined).resource.value).toBe(MASKED);
    expect(resolve(live, row(5)).resource.value).toBe(5);
  });
});
