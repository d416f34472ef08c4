import { startFakeGateway, type FakeGateway } from './test-support/fake-gateway';
import { runCli } from './test-support/run';

/**
 * The scenarios' checks must fail a broken server, not only pass a good one: each test points a
 * scenario at a synthetic gateway with one fault and expects the run to report it as errors (exit
 * code 2 under an error SLO), and the same scenario against the fault-free fake to report none.
 */
/** A short revocation storm with an error SLO, so a counted error sets exit code 2. */
const revocationStorm = (url: string) =>
  runCli([
    'revocation-storm',
    '--target',
    url,
    '--users',
    '3',
    '--rate',
    '4',
    '--duration',
    '2s',
    '--timeout',
    '1s',
    '--slo',
    'errors<1',
  ]);
const hotKey = (url: string) =>
  runCli(['settings-hot', '--target', url, '--users', '8', '--duration', '2s', '--slo', 'errors<1']);

describe('what the scenarios count as errors', () => {
  let fake: FakeGateway | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('revocation-storm: a server that answers the revoke but keeps accepting the token fails the run', async () => {
    fake = await startFakeGateway({ ignoreRevocation: true });

    const { exitCode, result } = await revocationStorm(fake.url);

    expect(exitCode).toBe(2);
    expect(result!.errorsByKind['me (revoked token): revoked token accepted']).toBeGreaterThan(0);
    expect(result!.errorsByKind['handshake (revoked token): revoked token accepted']).toBeGreaterThan(0);
    expect(result!.errorsByKind['socket cut: revoked socket still open']).toBeGreaterThan(0);
  });

  it('revocation-storm: a server that enforces the revoke passes the same run', async () => {
    fake = await startFakeGateway();

    const { exitCode, result } = await revocationStorm(fake.url);

    expect(result!.errorsByKind).toEqual({});
    expect(exitCode).toBe(0);
    expect(result!.operations.revoke!.requests).toBeGreaterThan(0);
  });

  it('settings-hot: a PUT that ignores If-Match loses updates, and the run says how many', async () => {
    fake = await startFakeGateway({ lossyCas: true });

    const { exitCode, result } = await hotKey(fake.url);

    expect(exitCode).toBe(2);
    expect(result!.counters['lost updates']).toBeGreaterThan(0);
    expect(result!.errorsByKind['lost updates (final value below the 200 answers)']).toBe(
      result!.counters['lost updates'],
    );
  });

  it('settings-hot: a real compare-and-swap loses nothing', async () => {
    fake = await startFakeGateway();

    const { exitCode, result } = await hotKey(fake.url);

    expect(exitCode).toBe(0);
    expect(result!.counters['lost updates']).toBe(0);
    expect(result!.counters['conflicts (412)']).toBeGreaterThan(0);
  });
});
