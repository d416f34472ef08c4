import { casSql } from '../../services/settings-service/src/data-access/settings-cas';
import {
  bindPlaceholders,
  escapeLiteralColons,
  parsePgbenchLog,
  parsePgbenchOutput,
  pgbenchScript,
} from './pgbench';

/** pgbench 15's summary, as printed at the end of `pgbench -n -M extended -c 16 -j 2 -T 3 -f …`. */
const OUTPUT = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: /tmp/run/settings-cas.pgbench.sql
scaling factor: 1
query mode: extended
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 7877
number of failed transactions: 0 (0.000%)
latency average = 6.067 ms
latency stddev = 3.112 ms
initial connection time = 21.530 ms
tps = 2637.159407 (without initial connection time)
`;

describe('parsePgbenchOutput', () => {
  it('reads clients, threads, duration, transactions, failures, tps and the average latency', () => {
    expect(parsePgbenchOutput(OUTPUT)).toEqual({
      clients: 16,
      threads: 2,
      durationSeconds: 3,
      transactions: 7877,
      failed: 0,
      tps: 2637.159407,
      latencyAverageMs: 6.067,
    });
  });

  it('refuses output without a summary (an aborted run), naming what is missing', () => {
    const aborted = OUTPUT.split('\n').slice(0, 9).join('\n');

    expect(() => parsePgbenchOutput(aborted)).toThrow(/without the average latency|without tps/);
  });

  it('reads failed transactions when there are some', () => {
    const failing = OUTPUT.replace(
      'number of failed transactions: 0 (0.000%)',
      'number of failed transactions: 12 (0.152%)',
    );

    expect(parsePgbenchOutput(failing).failed).toBe(12);
  });
});

describe('parsePgbenchLog', () => {
  it('takes the third field of each transaction line as its latency in microseconds', () => {
    const log = '0 0 5321 0 1764584401 123456\n1 0 12000 0 1764584401 223456\n\n';

    expect(parsePgbenchLog(log)).toEqual([5.321, 12]);
  });

  it('leaves out skipped and failed transactions and short lines', () => {
    const log = '0 1 skipped 0 1764584401 1\n0 2 failed 0 1764584401 2\n3 4\n2 7 800 0 1764584401 3\n';

    expect(parsePgbenchLog(log)).toEqual([0.8]);
  });
});

describe('bindPlaceholders', () => {
  it('replaces $10 as ten, not as $1 followed by 0', () => {
    const args = Array.from({ length: 10 }, (_, i) => `:v${i + 1}`);

    expect(bindPlaceholders('$1 $10 $2 $3 $4 $5 $6 $7 $8 $9', args)).toBe(
      ':v1 :v10 :v2 :v3 :v4 :v5 :v6 :v7 :v8 :v9',
    );
  });

  it('refuses a placeholder without an argument and an argument never used', () => {
    expect(() => bindPlaceholders('a = $1 AND b = $2', [':a'])).toThrow('no argument for $2');
    expect(() => bindPlaceholders('a = $1', [':a', ':b'])).toThrow('arguments never used: $2');
  });
});

describe('escapeLiteralColons', () => {
  it('rewrites colons inside literals so pgbench sees no variable there, leaving casts and variables alone', () => {
    const sql = `SELECT to_char(t, 'HH24:MI:SS'), x::jsonb, :k, 'plain'`;

    expect(escapeLiteralColons(sql)).toBe(`SELECT to_char(t, E'HH24\\072MI\\072SS'), x::jsonb, :k, 'plain'`);
  });

  it('keeps doubled quotes inside a literal', () => {
    expect(escapeLiteralColons(`'it''s: here'`)).toBe(`E'it''s\\072 here'`);
  });
});

describe('pgbenchScript', () => {
  const script = pgbenchScript({
    casSql: casSql('outbox'),
    keys: 10_000,
    keyBase: 1_000_000,
    updatedBy: '00000000-0000-4000-8000-000000000001',
  });
  const lines = script.trim().split('\n');

  it('draws a key, reads its value and revision, then runs the CAS as one statement on one line', () => {
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('\\set k random(1000001, 1010000)');
    expect(lines[1]).toMatch(/^SELECT .* AS nv, .* AS revs FROM settings .* \\gset$/);
    expect(lines[2]).toMatch(/^WITH old AS \(.*FROM changed;$/);
  });

  it('keeps the revision check, the history row and the outbox row of the service statement', () => {
    const cas = lines[2]!;

    expect(cas).toContain('s.revision = ANY(:revs::bigint[])');
    expect(cas).toContain('INSERT INTO settings_history');
    expect(cas).toContain('INSERT INTO outbox');
    expect(cas).toContain('FOR UPDATE');
    expect(cas).not.toMatch(/\$\d/);
  });

  it('leaves no colon in a literal that pgbench would take for a variable', () => {
    const variables = [...lines[2]!.matchAll(/(?<!:):([a-zA-Z_]\w*)/g)].map((m) => m[1]);

    expect(new Set(variables)).toEqual(new Set(['k', 'nv', 'revs']));
  });
});
