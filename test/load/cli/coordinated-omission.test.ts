import { startFakeGateway, type FakeGateway } from './test-support/fake-gateway';
import { runCli } from './test-support/run';

/**
 * A synthetic server that stalls every /auth/me for one second, 500 ms into the run. A generator
 * that times only what it sent (wrk, not wrk2) sees one slow request per connection and reports a
 * p90 of a millisecond; the requests that should have been sent during the stall are what the
 * correction must bring back.
 */
describe('coordinated omission against a server that stalls for 1 s', () => {
  let fake: FakeGateway;
  const STALL_MS = 1_000;

  beforeEach(async () => {
    fake = await startFakeGateway({ stall: { fromMs: 500, forMs: STALL_MS } });
  });
  afterEach(() => fake.close());

  it('open model: the requests that arrived during the stall count from their intended start', async () => {
    const { result } = await runCli([
      'me',
      '--target',
      fake.url,
      '--users',
      '300',
      '--rate',
      '100',
      '--duration',
      '3s',
    ]);

    // 100 of ~300 arrivals fall into the stall and wait 0…1000 ms: the slowest 10% waited ≥ ~700 ms.
    expect(result!.settings.correction).toBe('intended-start');
    expect(result!.summary.errors).toBe(0);
    expect(result!.summary.latency.p90).toBeGreaterThan(STALL_MS / 2);
  });

  it('closed model paced like wrk2: one user charges the stall to every request it delayed', async () => {
    const { result } = await runCli([
      'me',
      '--target',
      fake.url,
      '--users',
      '1',
      '--rate',
      '100',
      '--model',
      'closed',
      '--duration',
      '3s',
    ]);

    expect(result!.summary.latency.p90).toBeGreaterThan(STALL_MS / 2);
  });

  it('closed model back to back: the raw p99 hides the stall, the corrected p99 shows it', async () => {
    const { result } = await runCli(['me', '--target', fake.url, '--users', '1', '--duration', '3s']);

    expect(result!.settings.correction).toBe('expected-interval');
    expect(result!.summary.latencyUncorrected.p99).toBeLessThan(STALL_MS / 4);
    expect(result!.summary.latency.p99).toBeGreaterThan(STALL_MS / 2);
  });
});
