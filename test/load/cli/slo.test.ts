import { judgeSlos, parseSlo, SloSyntaxError, type SloFigures } from './slo';

const figures = (over: Partial<SloFigures> = {}): SloFigures => ({
  requests: 1000,
  errors: 2,
  elapsedSeconds: 10,
  latency: { p50: 4, p75: 6, p90: 9, p95: 12, p99: 40, p999: 90, mean: 5, max: 120 },
  ...over,
});

describe('parseSlo', () => {
  it('reads latency clauses in us, ms and s into milliseconds', () => {
    expect(parseSlo('p99<50ms,p50<=800us,max<2s').map((s) => [s.metric, s.comparator, s.value])).toEqual([
      ['p99', '<', 50],
      ['p50', '<=', 0.8],
      ['max', '<', 2000],
    ]);
  });

  it('reads errors as a rate with % and as a count without', () => {
    const [rate, count] = parseSlo('errors<0.1%, errors<=5');
    expect(rate).toMatchObject({ metric: 'errors', value: 0.001, rate: true });
    expect(count).toMatchObject({ metric: 'errors', value: 5, rate: false });
  });

  it('reads p99.9, rps and an operation prefix', () => {
    expect(parseSlo('login:p99.9<300ms,rps>=100')).toEqual([
      { text: 'login:p99.9<300ms', operation: 'login', metric: 'p99.9', comparator: '<', value: 300 },
      { text: 'rps>=100', metric: 'rps', comparator: '>=', value: 100 },
    ]);
  });

  it.each(['p98<5ms', 'p99<', 'p99=5ms', 'errors<5ms', 'rps>10%', 'p99<5%', ''])('refuses "%s"', (text) => {
    expect(() => parseSlo(text)).toThrow(SloSyntaxError);
  });
});

describe('judgeSlos', () => {
  it('when the p99 is under the bound, the clause is met; over it, missed', () => {
    const [met, missed] = judgeSlos(parseSlo('p99<50ms,p99<30ms'), figures(), {});
    expect(met).toMatchObject({ met: true, actual: 40 });
    expect(missed).toMatchObject({ met: false, actual: 40 });
  });

  it('judges the error rate against all operations and the count as a count', () => {
    const verdicts = judgeSlos(parseSlo('errors<0.1%,errors<0.5%,errors<3'), figures(), {});
    expect(verdicts.map((v) => [v.met, v.actual])).toEqual([
      [false, 0.002],
      [true, 0.002],
      [true, 2],
    ]);
  });

  it('judges rps as operations per elapsed second', () => {
    expect(
      judgeSlos(parseSlo('rps>150'), figures({ requests: 1000, elapsedSeconds: 5 }), {})[0],
    ).toMatchObject({
      met: true,
      actual: 200,
    });
  });

  it('judges an operation clause on that operation only', () => {
    const ops = { login: figures({ latency: { ...figures().latency, p95: 500 } }) };
    expect(judgeSlos(parseSlo('login:p95<300ms,p95<300ms'), figures(), ops).map((v) => v.met)).toEqual([
      false,
      true,
    ]);
  });

  it('when the named operation did not run, the clause is missed rather than passed', () => {
    expect(judgeSlos(parseSlo('connect:p99<10ms'), figures(), {})[0]).toMatchObject({
      met: false,
      actual: null,
    });
  });

  it('when nothing succeeded, a latency clause is missed rather than passed on zeros', () => {
    const none = figures({
      requests: 10,
      errors: 10,
      latency: { p50: 0, p75: 0, p90: 0, p95: 0, p99: 0, p999: 0, mean: 0, max: 0 },
    });
    expect(judgeSlos(parseSlo('p99<50ms'), none, {})[0]).toMatchObject({ met: false, actual: null });
  });
});
