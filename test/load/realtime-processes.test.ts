import { openFileLimits, rssBytes, withOpenFiles } from './realtime-processes';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             95289                95289                processes
Max open files            1024                 20000                files
`;

describe('open-file limits', () => {
  it('reads the soft and hard limit of "Max open files"', () => {
    expect(openFileLimits(LIMITS)).toEqual({ soft: 1024, hard: 20_000 });
    expect(
      openFileLimits('Max open files            unlimited            unlimited            files'),
    ).toEqual({
      soft: Infinity,
      hard: Infinity,
    });
  });

  it('raises the soft limit through sh only when the inherited one is too low', () => {
    expect(withOpenFiles(['node', 'x.js'], 1_000, { soft: 1_024, hard: 20_000 })).toEqual(['node', ['x.js']]);
    expect(withOpenFiles(['node', 'x.js'], 11_024, { soft: 1_024, hard: 20_000 })).toEqual([
      'sh',
      ['-c', 'ulimit -n "$0" && exec "$@"', '11024', 'node', 'x.js'],
    ]);
  });

  it('refuses a process that would need more than the hard limit', () => {
    expect(() => withOpenFiles(['node'], 20_001, { soft: 1_024, hard: 20_000 })).toThrow(
      /hard limit is 20000/,
    );
  });
});

describe('rssBytes', () => {
  it('reads this process and answers NaN for a pid that does not exist', () => {
    expect(rssBytes(process.pid)).toBeGreaterThan(1_000_000);
    expect(rssBytes(2 ** 30)).toBeNaN();
  });
});
