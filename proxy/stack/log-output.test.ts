import { createLogOutput } from './log-output';

const NOW = () => new Date('2026-12-01T10:00:00.000Z');
const SOURCE = { service: 'auth-service', replica: 'auth-service-1' };
const PINO_LINE = JSON.stringify({
  level: 'info',
  time: '2026-12-01T10:00:00.000Z',
  service: 'auth-service',
  replica: 'auth-service-1',
  msg: 'auth-service listening',
  port: 4101,
});

function capture(pretty: boolean) {
  let text = '';
  const out = createLogOutput({ pretty, colorize: false, now: NOW, write: (t) => (text += t) });
  return { out, text: () => text };
}

describe('stack log output, not on a terminal', () => {
  it('passes a service’s JSON line through unchanged', () => {
    const { out, text } = capture(false);

    out.child(SOURCE, PINO_LINE, 'stdout');

    expect(text()).toBe(`${PINO_LINE}\n`);
  });

  it('wraps a line that is not JSON into a JSON record naming the replica, stderr as a warning', () => {
    const { out, text } = capture(false);

    out.child(SOURCE, 'TypeError: boom', 'stderr');

    expect(JSON.parse(text())).toEqual({
      level: 'warn',
      time: '2026-12-01T10:00:00.000Z',
      service: 'auth-service',
      replica: 'auth-service-1',
      msg: 'TypeError: boom',
    });
  });

  it('writes the runner’s own lines as JSON', () => {
    const { out, text } = capture(false);

    out.stack('info', 'all 6 replicas ready after 3 s');

    expect(JSON.parse(text())).toMatchObject({
      level: 'info',
      service: 'stack',
      msg: 'all 6 replicas ready after 3 s',
    });
  });
});

describe('stack log output on a terminal (pino-pretty)', () => {
  it('renders a service’s JSON line as one readable line prefixed with the replica', () => {
    const { out, text } = capture(true);

    out.child(SOURCE, PINO_LINE, 'stdout');

    expect(text()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[auth-service-1\] auth-service listening\n/);
    expect(text()).toContain('port: 4101');
    expect(() => JSON.parse(text())).toThrow();
  });

  it('colors the level when asked to', () => {
    let text = '';
    const out = createLogOutput({ pretty: true, colorize: true, now: NOW, write: (t) => (text += t) });

    out.stack('error', 'nginx died');

    expect(text).toContain('\u001b[');
    expect(text).toContain('[stack] nginx died');
  });
});

describe('stack log output of a one-shot that logs without a replica', () => {
  it('prefixes the line with the child’s name', () => {
    const { out, text } = capture(true);

    out.child(
      { service: 'migrate', replica: 'migrate' },
      JSON.stringify({ level: 'info', msg: 'no pending migrations' }),
      'stdout',
    );

    expect(text()).toContain('[migrate] no pending migrations');
  });
});
