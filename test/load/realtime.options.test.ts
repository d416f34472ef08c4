import { UsageError } from './bench-context';
import { MAX_SOCKETS, parseRealtimeOptions } from './realtime.options';

describe('parseRealtimeOptions', () => {
  it('defaults to 10 000 sockets, two client processes and the sharded phase', () => {
    expect(parseRealtimeOptions([])).toMatchObject({
      sockets: 10_000,
      workers: 2,
      sharded: true,
      skipDocs: false,
    });
  });

  it('takes --sockets N and --no-sharded', () => {
    expect(parseRealtimeOptions(['--sockets', '2000', '--no-sharded'])).toMatchObject({
      sockets: 2_000,
      sharded: false,
    });
  });

  it('refuses a socket count one process could not hold under the open-file limit', () => {
    expect(() => parseRealtimeOptions(['--sockets', String(MAX_SOCKETS + 1)])).toThrow(UsageError);
    expect(() => parseRealtimeOptions(['--sockets', 'many'])).toThrow(/--sockets must be an integer/);
  });

  it('refuses unknown flags as a usage error', () => {
    expect(() => parseRealtimeOptions(['--nodes', '3'])).toThrow(UsageError);
  });
});
