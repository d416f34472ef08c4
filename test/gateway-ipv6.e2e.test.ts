// The IPv6 half of the per-address limits (DESIGN.md section 4: "IPv6 bucketed by /64, in nginx's
// limits too"): a client that owns a /64 must not get a fresh login budget from each of its 2^64
// addresses. Real nginx with the real gateway config, real IPv6 source addresses, inside a private
// network namespace so the host's interfaces stay untouched (needs root, as the other netns
// rehearsals do; without it the test fails rather than skips).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const WORKER = path.join(__dirname, 'support/ipv6-gateway-worker.js');
const BURST = 10;
/** One token per 10 s: nothing refills during the bursts. */
const LIMIT = { rate: '6r/m', burst: 4 };

const ATTACKER = '2001:db8:1:2::a';
const SAME_64 = '2001:db8:1:2:ffff:ffff:ffff:fffe';
const NEIGHBOUR_64 = '2001:db8:1:3::a';

interface WorkerOutput {
  bursts: Array<{ source: string; passed: number }>;
}

let passed: Record<string, number>;

beforeAll(async () => {
  const input = { sources: [ATTACKER, SAME_64, NEIGHBOUR_64], burst: BURST, limit: LIMIT };
  const { stdout } = await promisify(execFile)(
    'unshare',
    ['--net', process.execPath, WORKER, JSON.stringify(input)],
    {
      timeout: 60_000,
    },
  );
  const output = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as WorkerOutput;
  passed = Object.fromEntries(output.bursts.map((b) => [b.source, b.passed]));
});

describe('login limit over IPv6', () => {
  it('when a burst exceeds the limit from one IPv6 address, answers the excess with 429', () => {
    expect(passed[ATTACKER]).toBeLessThan(BURST);
  });

  it('when another address of the same /64 sends a burst next, lets none of it through', () => {
    expect(passed[SAME_64]).toBe(0);
  });

  it('when an address of the neighbouring /64 sends a burst, gives it a budget of its own', () => {
    expect(passed[NEIGHBOUR_64]).toBe(passed[ATTACKER]);
  });
});
