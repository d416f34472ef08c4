import {
  apiSettings,
  benchSettings,
  AppError,
  defineSetting,
  type NamespaceDefinition,
} from '@concord/common';
import { z } from 'zod';
import { createSettingRegistry, RegistryError } from './setting-registry';

function namespaceWith(...settings: ReturnType<typeof defineSetting>[]): NamespaceDefinition {
  return { name: 'demo', settings, rules: [] };
}

function problemsOf(namespaces: NamespaceDefinition[]): string[] {
  try {
    createSettingRegistry(namespaces);
  } catch (err) {
    if (err instanceof RegistryError) return err.problems;
    throw err;
  }
  return [];
}

describe('createSettingRegistry', () => {
  it('accepts the api and bench namespaces', () => {
    expect(problemsOf([apiSettings({ maxAccessTtlSeconds: 3600 }), benchSettings()])).toEqual([]);
  });

  it('refuses a default that fails its own schema', () => {
    const problems = problemsOf([
      namespaceWith(defineSetting({ key: 'limit', schema: z.int().min(10), default: 5, description: '' })),
    ]);

    expect(problems).toEqual([expect.stringMatching(/^demo\.limit: the default fails its own schema/)]);
  });

  it('refuses a restart_required key that a manager could write', () => {
    const problems = problemsOf([
      namespaceWith(
        defineSetting({
          key: 'port',
          restartRequired: true,
          writers: ['ceo', 'manager'],
          schema: z.int(),
          default: 1,
          description: '',
        }),
      ),
    ]);

    expect(problems).toEqual(['demo.port: restart_required keys are written by ceo only']);
  });

  it('refuses member or observer as writers', () => {
    const problems = problemsOf([
      namespaceWith(
        defineSetting({ key: 'x', writers: ['member'], schema: z.int(), default: 1, description: '' }),
      ),
    ]);

    expect(problems).toEqual(['demo.x: member may only read']);
  });

  it('refuses defaults that break a cross-key rule, and rules naming unknown keys', () => {
    const a = defineSetting({ key: 'a', schema: z.int(), default: 1, description: '' });
    const problems = problemsOf([
      {
        name: 'demo',
        settings: [a],
        rules: [
          { keys: ['a'], check: () => [{ path: 'a', message: 'never valid' }] },
          { keys: ['a', 'b'], check: () => [] },
        ],
      },
    ]);

    expect(problems).toEqual([
      'demo.a: the defaults break a cross-key rule (never valid)',
      'demo: a cross-key rule names unknown keys b',
    ]);
  });

  it('gives restart_required keys ceo as the only writer and read-only keys none', () => {
    const registry = createSettingRegistry([apiSettings({ maxAccessTtlSeconds: 3600 })]);

    expect(registry.setting('api', 'server_port').writers).toEqual(['ceo']);
    expect(registry.setting('api', 'rate_limit_max_requests').writers).toEqual(['ceo', 'manager']);
    expect(registry.setting('api', 'api_prefix').writers).toEqual([]);
  });

  it('answers 404 for an unknown namespace or key, and defines any bench key matching the pattern', () => {
    const registry = createSettingRegistry([benchSettings()]);

    expect(() => registry.namespace('api')).toThrow(AppError);
    expect(() => registry.setting('bench', 'UPPER')).toThrow(expect.objectContaining({ status: 404 }));
    expect(registry.setting('bench', 'load_01')).toMatchObject({ default: 0, writable: true });
  });
});
