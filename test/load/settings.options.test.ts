import { UsageError } from './bench-context';
import { parseSettingsOptions } from './settings.options';

describe('parseSettingsOptions', () => {
  it('defaults to the issue: 10k keys, 16 clients, 2 replicas, 15 s rounds and warm-ups, LOG_LEVEL=info', () => {
    const o = parseSettingsOptions([]);

    expect(o).toMatchObject({
      keys: 10_000,
      clients: 16,
      settingsReplicas: 2,
      durationSeconds: 15,
      warmupSeconds: 15,
      rounds: 2,
      logLevel: 'info',
      replicaEnv: {},
      cpuProf: false,
      skipDocs: false,
    });
  });

  it('collects repeated --replica-env pairs, values may contain "="', () => {
    const o = parseSettingsOptions([
      '--replica-env',
      'SETTINGS_OUTBOX_RELAY=false',
      '--replica-env',
      'EXTRA=a=b',
    ]);

    expect(o.replicaEnv).toEqual({ SETTINGS_OUTBOX_RELAY: 'false', EXTRA: 'a=b' });
  });

  it.each([
    [['--replica-env', 'lower=1'], /KEY=VALUE/],
    [['--duration', '0'], /--duration must be an integer in 1..300/],
    [['--duration', '301'], /--duration/],
    [['--log-level', 'loud'], /pino level/],
    [['--nonsense'], /Unknown option/],
  ])('refuses %j with a usage error', (args, message) => {
    expect(() => parseSettingsOptions(args)).toThrow(UsageError);
    expect(() => parseSettingsOptions(args)).toThrow(message);
  });
});
