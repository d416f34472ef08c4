import { FLAGS, helpText, parseLoadArgs, UsageError } from './options';
import { SCENARIOS } from './scenarios';

const defaults = { outDir: '/tmp/out', stateDir: '/tmp/state' };
const parse = (...args: string[]) => {
  const parsed = parseLoadArgs(args, defaults);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.options;
};

describe('parseLoadArgs', () => {
  it('with --rate the model is open, without it closed', () => {
    expect(parse('me', '--target', 'https://localhost:8443', '--rate', '50').model).toBe('open');
    expect(parse('me', '--target', 'https://localhost:8443').model).toBe('closed');
  });

  it('bounds every run: the default iteration cap follows the rate and duration', () => {
    const o = parse(
      'me',
      '--target',
      'https://localhost:8443',
      '--rate',
      '100',
      '--duration',
      '30s',
      '--users',
      '10',
    );
    expect(o.durationMs).toBe(30_000);
    expect(o.maxRequests).toBe(Math.ceil(100 * 30 * 1.05 + 10));
  });

  it.each([
    [['me'], /--target/],
    [['--target', 'https://localhost'], /scenario/],
    [['me', '--target', 'x', '--duration', '2h'], /at most 1h/],
    [['me', '--target', 'x', '--model', 'open'], /needs --rate/],
    [['me', '--target', 'x', '--users', '0'], /--users/],
    [['me', '--target', 'x', '--slo', 'p99<5parsecs'], /--slo/],
    [['me', '--target', 'x', '--admin-user', 'ceo'], /go together/],
    [['me', '--target', 'x', '--bogus'], /bogus/],
  ])('refuses %p', (args, message) => {
    expect(() => parseLoadArgs(args, defaults)).toThrow(UsageError);
    expect(() => parseLoadArgs(args, defaults)).toThrow(message);
  });
});

describe('--help', () => {
  const text = helpText(SCENARIOS);

  it('explains every flag the parser accepts', () => {
    for (const flag of Object.keys(FLAGS)) expect(text).toContain(`--${flag}`);
  });

  it('lists every scenario', () => {
    for (const s of SCENARIOS) expect(text).toContain(s.name);
  });
});
