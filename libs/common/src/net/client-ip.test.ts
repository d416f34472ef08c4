import type { IncomingHttpHeaders } from 'node:http';
import { createClientIpResolver } from './client-ip';
import { parseTrustedProxies } from './trusted-proxies';

/** The local stack: nginx connects from 127.0.0.2, plus an internal LB network and an IPv6 proxy. */
const resolve = createClientIpResolver(parseTrustedProxies('127.0.0.2/32,10.0.0.0/8,2001:db8:ffff::/48'));

function headers(values: IncomingHttpHeaders): IncomingHttpHeaders {
  return { host: 'service.internal:4101', ...values };
}

describe('createClientIpResolver', () => {
  describe('when the peer is not a trusted proxy', () => {
    it('ignores X-Forwarded-For, -Proto and -Host', () => {
      const info = resolve(
        '127.0.0.1',
        headers({
          'x-forwarded-for': '203.0.113.9',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil.test',
        }),
        false,
      );

      expect(info).toEqual({ ip: '127.0.0.1', proto: 'http', host: 'service.internal:4101' });
    });

    it('reports https from the socket itself', () => {
      expect(resolve('198.51.100.7', headers({ 'x-forwarded-proto': 'http' }), true).proto).toBe('https');
    });

    it('cannot become trusted by naming a trusted proxy in X-Forwarded-For', () => {
      expect(resolve('198.51.100.7', headers({ 'x-forwarded-for': '127.0.0.2' }), false).ip).toBe(
        '198.51.100.7',
      );
    });
  });

  describe('when the peer is a trusted proxy', () => {
    it('takes the address nginx wrote as the client', () => {
      const info = resolve('127.0.0.2', headers({ 'x-forwarded-for': '127.0.0.5' }), false);

      expect(info.ip).toBe('127.0.0.5');
    });

    it('takes the rightmost untrusted hop and ignores forged entries to its left', () => {
      const info = resolve(
        '127.0.0.2',
        headers({ 'x-forwarded-for': '1.2.3.4, 5.6.7.8, 203.0.113.9' }),
        false,
      );

      expect(info.ip).toBe('203.0.113.9');
    });

    it('walks through a chain of several trusted proxies', () => {
      const info = resolve(
        '127.0.0.2',
        headers({ 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.1.1, 10.2.2.2' }),
        false,
      );

      expect(info.ip).toBe('203.0.113.9');
    });

    it('joins repeated X-Forwarded-For headers in order', () => {
      const info = resolve(
        '127.0.0.2',
        headers({ 'x-forwarded-for': ['6.6.6.6', '203.0.113.9, 10.2.2.2'] }),
        false,
      );

      expect(info.ip).toBe('203.0.113.9');
    });

    it('falls back to the peer when X-Forwarded-For is missing or empty', () => {
      expect(resolve('127.0.0.2', headers({}), false).ip).toBe('127.0.0.2');
      expect(resolve('127.0.0.2', headers({ 'x-forwarded-for': '' }), false).ip).toBe('127.0.0.2');
    });

    it('stops the walk at a garbage hop and keeps the last good one', () => {
      const info = resolve(
        '127.0.0.2',
        headers({ 'x-forwarded-for': '203.0.113.9, unknown, 10.2.2.2' }),
        false,
      );

      expect(info.ip).toBe('10.2.2.2');
    });

    it.each(['2130706433', '127.1', '0x7f.0.0.1', '010.0.0.1'])(
      'treats the ambiguous IPv4 form %s as garbage',
      (hop) => {
        expect(resolve('127.0.0.2', headers({ 'x-forwarded-for': hop }), false).ip).toBe('127.0.0.2');
      },
    );

    it('never lets a garbage hop become the client', () => {
      const info = resolve('127.0.0.2', headers({ 'x-forwarded-for': 'not-an-ip' }), false);

      expect(info.ip).toBe('127.0.0.2');
    });
  });

  describe('IPv6', () => {
    it('normalises an IPv4-mapped IPv6 peer and trusts it like its IPv4 form', () => {
      const info = resolve('::ffff:127.0.0.2', headers({ 'x-forwarded-for': '203.0.113.9' }), false);

      expect(info.ip).toBe('203.0.113.9');
    });

    it('reports an untrusted IPv4-mapped peer in IPv4 form', () => {
      expect(resolve('::ffff:127.0.0.1', headers({ 'x-forwarded-for': '203.0.113.9' }), false).ip).toBe(
        '127.0.0.1',
      );
    });

    it('normalises IPv4-mapped hops in X-Forwarded-For', () => {
      const info = resolve(
        '127.0.0.2',
        headers({ 'x-forwarded-for': '::ffff:203.0.113.9, ::ffff:10.2.2.2' }),
        false,
      );

      expect(info.ip).toBe('203.0.113.9');
    });

    it('resolves an IPv6 client behind an IPv6 proxy, in canonical form', () => {
      const info = resolve('2001:db8:ffff::1', headers({ 'x-forwarded-for': '2001:DB8:0:0::42' }), false);

      expect(info.ip).toBe('2001:db8::42');
    });

    it('strips the zone id of a link-local socket peer, which is not part of the address (RFC 4007)', () => {
      expect(resolve('fe80::1%eth0', headers({}), false).ip).toBe('fe80::1');
    });

    it.each(['fe80::1%eth0', 'fe80::1%25eth0', '::1%1'])(
      'treats the forwarded hop %s, which carries a zone id, as garbage',
      (hop) => {
        expect(resolve('127.0.0.2', headers({ 'x-forwarded-for': hop }), false).ip).toBe('127.0.0.2');
      },
    );

    it.each([
      '::ffff:0x7f.0.0.1',
      '::ffff:010.0.0.1',
      '::ffff:1.2.3.04',
      '1:2:3:4:5:6:077.1.1.1',
      '::0x7f.0.0.1',
    ])('treats the embedded IPv4 written as %s, not as a dotted quad, as garbage', (hop) => {
      expect(resolve('127.0.0.2', headers({ 'x-forwarded-for': hop }), false).ip).toBe('127.0.0.2');
    });

    it('reads the IPv4-compatible ::203.0.113.9 as the IPv6 address ::cb00:7109, not as IPv4', () => {
      expect(resolve('127.0.0.2', headers({ 'x-forwarded-for': '::203.0.113.9' }), false).ip).toBe(
        '::cb00:7109',
      );
    });

    it('when the socket peer is no address at all (the socket already closed), throws a 400 problem', () => {
      expect(() => resolve('', headers({}), false)).toThrow(
        expect.objectContaining({ status: 400, code: 2001 }) as Error,
      );
    });

    it('ignores X-Forwarded-For from an untrusted IPv6 peer', () => {
      const info = resolve('2001:db8:1::1', headers({ 'x-forwarded-for': '2001:db8::42' }), false);

      expect(info.ip).toBe('2001:db8:1::1');
    });
  });

  describe('X-Forwarded-Proto and -Host', () => {
    it('honours them from a trusted peer', () => {
      const info = resolve(
        '127.0.0.2',
        headers({
          'x-forwarded-for': '203.0.113.9',
          'x-forwarded-proto': 'HTTPS',
          'x-forwarded-host': 'localhost:8443',
        }),
        false,
      );

      expect(info).toEqual({ ip: '203.0.113.9', proto: 'https', host: 'localhost:8443' });
    });

    it.each(['javascript', 'ftp', 'https://evil', ''])(
      'ignores the protocol %j, keeping the socket one',
      (proto) => {
        const info = resolve('127.0.0.2', headers({ 'x-forwarded-proto': proto }), true);

        expect(info.proto).toBe('https');
      },
    );

    it('takes the first of several protocols', () => {
      expect(resolve('127.0.0.2', headers({ 'x-forwarded-proto': 'https, http' }), false).proto).toBe(
        'https',
      );
    });

    it('keeps the Host header when X-Forwarded-Host is absent', () => {
      expect(resolve('127.0.0.2', headers({}), false).host).toBe('service.internal:4101');
    });
  });
});
