// Fuzzes the address parser against Postgres' inet, the type the resolved client address ends up in
// (sessions.ip_address). Two parsers that disagree are an attack surface: an address that inet
// refuses turns a login into a 500, and one that inet reads differently records the wrong client.
import { Client } from 'pg';
import { createClientIpResolver } from './client-ip';
import { parseAddress, parsePeerAddress, parseTrustedProxies } from './trusted-proxies';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** mulberry32: a seeded generator, so a failing corpus can be reproduced. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every spelling of eight 16-bit groups: full, each `::` compression, padded, upper case. */
function ipv6Spellings(groups: number[]): string[] {
  const hex = groups.map((g) => g.toString(16));
  const out = [hex.join(':'), groups.map((g) => g.toString(16).padStart(4, '0')).join(':')];
  for (let start = 0; start < 8; start++) {
    for (let end = start + 1; end <= 8 && groups[end - 1] === 0; end++) {
      out.push(`${hex.slice(0, start).join(':')}::${hex.slice(end).join(':')}`);
    }
  }
  out.push(out[out.length - 1]!.toUpperCase());
  return out;
}

/** The same groups with the last 32 bits as a dotted quad, well and badly written. */
function dottedTails(groups: number[]): string[] {
  const head = groups.slice(0, 6).map((g) => g.toString(16));
  const [a, b, c, d] = [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255];
  const compressedHead = head.every((g) => g === '0') ? '::' : `${head.join(':')}:`;
  return [
    `${compressedHead}${a}.${b}.${c}.${d}`,
    `${head.join(':')}:${a}.${b}.${c}.${d}`,
    `${compressedHead}0x${a.toString(16)}.${b}.${c}.${d}`,
    `${compressedHead}0${a}.${b}.${c}.${d}`,
    `${compressedHead}${a}.${b}.${c}`,
  ];
}

function ipv4Spellings(octets: number[]): string[] {
  const [a, b, c, d] = octets as [number, number, number, number];
  const value = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  return [
    `${a}.${b}.${c}.${d}`,
    `${a}.${b}.${c}.0${d}`,
    `0x${a.toString(16)}.${b}.${c}.${d}`,
    `0${a.toString(8)}.${b}.${c}.${d}`,
    `${a}.${b}.${(c << 8) + d}`,
    String(value),
    `${a}.${b}.${c}.${d + 256}`,
    `${a}.${b}.${c}.${d}.`,
    `::ffff:${a}.${b}.${c}.${d}`,
    `::${a}.${b}.${c}.${d}`,
  ];
}

/** A deterministic corpus: well-formed addresses in every spelling, then small mutations of them. */
function corpus(): string[] {
  const next = random(0x5eed);
  const word = () => Math.floor(next() * 0x10000);
  const out = new Set<string>([
    '',
    ' ',
    '::',
    ':::',
    '::1',
    '1::',
    ':1::',
    'fe80::1%eth0',
    'fe80::1%25eth0',
    '::1%1',
  ]);
  for (let mask = 0; mask < 256; mask++) {
    const groups = Array.from({ length: 8 }, (_, i) => ((mask >> i) & 1 ? word() || 1 : 0));
    for (const s of [...ipv6Spellings(groups), ...dottedTails(groups)]) {
      out.add(s);
      out.add(`${s}%eth0`);
    }
  }
  for (let i = 0; i < 64; i++) {
    for (const s of ipv4Spellings([0, 0, 0, 0].map(() => Math.floor(next() * 256)))) out.add(s);
  }
  out.add('::ffff:0.0.0.0');
  out.add('::0.0.0.1');
  const alphabet = ':.%0123456789abcdefABCDEFxg/[] -';
  for (const s of [...out].slice(0, 3000)) {
    const at = Math.floor(next() * (s.length + 1));
    const ch = alphabet[Math.floor(next() * alphabet.length)]!;
    out.add(s.slice(0, at) + ch + s.slice(at));
    out.add(s.slice(0, at) + s.slice(at + 1));
  }
  return [...out];
}

let pg: Client;

/** Postgres' reading of each text as inet (its canonical text), or null where inet refuses it. */
async function inetOf(texts: string[]): Promise<Array<string | null>> {
  const { rows } = await pg.query<{ host: string | null }>(
    'SELECT pg_temp.try_host(t) AS host FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i',
    [texts],
  );
  return rows.map((r) => r.host);
}

beforeAll(async () => {
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  await pg.query(`
    CREATE FUNCTION pg_temp.try_host(t text) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN
      RETURN host(t::inet);
    EXCEPTION WHEN others THEN
      RETURN NULL;
    END $$`);
});
afterAll(async () => {
  await pg.end();
});

describe('address parsing against Postgres inet', () => {
  const texts = corpus();

  it('when it accepts a text, Postgres accepts the canonical form it produces, with the same address', async () => {
    const parsed = texts
      .flatMap((t) => [parseAddress(t), parsePeerAddress(t)])
      .filter((a) => a !== undefined);
    const canonical = parsed.map((a) => a.toString());

    const hosts = await inetOf(canonical);

    const disagreements = canonical.filter((text, i) => {
      const host = hosts[i];
      return host === null || host === undefined || parseAddress(host)?.toString() !== text;
    });
    expect(parsed.length).toBeGreaterThan(1000);
    expect(disagreements).toEqual([]);
  });

  it('when Postgres and the parser both accept a text, they read the same address', async () => {
    const hosts = await inetOf(texts);

    const disagreements = texts
      .map((text, i) => ({ text, ours: parseAddress(text)?.toString(), postgres: hosts[i] }))
      .filter((r) => r.ours !== undefined && r.postgres !== null && !r.text.includes('/'))
      .filter((r) => parseAddress(r.postgres!)?.toString() !== r.ours);
    expect(disagreements).toEqual([]);
  });

  it('when Postgres refuses a text, the parser refuses it too (so no hop becomes a 500)', async () => {
    const trimmed = texts.map((t) => t.trim());
    const hosts = await inetOf(trimmed);

    const accepted = trimmed.filter((text, i) => hosts[i] === null && parseAddress(text) !== undefined);
    expect(accepted).toEqual([]);
  });

  it('when any text arrives as the peer or as a hop from a trusted proxy, resolves an address Postgres accepts', async () => {
    const resolve = createClientIpResolver(parseTrustedProxies('127.0.0.2/32'));
    const resolved: string[] = [];
    for (const text of texts) {
      resolved.push(resolve('127.0.0.2', { 'x-forwarded-for': text }, false).ip);
      try {
        resolved.push(resolve(text, {}, false).ip);
      } catch (err) {
        // An unreadable peer is a 400 problem, which is the other acceptable outcome.
        expect(err).toMatchObject({ status: 400 });
      }
    }

    const hosts = await inetOf(resolved);

    expect(resolved.filter((_, i) => hosts[i] === null)).toEqual([]);
  });
});
