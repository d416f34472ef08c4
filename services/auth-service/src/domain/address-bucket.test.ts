import { addressBucket } from './address-bucket';

describe('addressBucket', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
  });

  it('puts two IPv6 addresses of one /64 in the same bucket, written as the /64', () => {
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:ffff:ffff:ffff:fffe')).toBe('2001:db8:1:2::/64');
  });

  it('puts IPv6 addresses of neighbouring /64s in different buckets', () => {
    expect(addressBucket('2001:db8:1:3::1')).not.toBe(addressBucket('2001:db8:1:2::1'));
  });

  it('writes one /64 the same way however the address was spelt', () => {
    expect(addressBucket('2001:0DB8:0001:0002:0000:0000:0000:0009')).toBe('2001:db8:1:2::/64');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(addressBucket('::ffff:198.51.100.4')).toBe('198.51.100.4');
  });

  it('leaves something that is not an IP address as its own bucket', () => {
    expect(addressBucket('unix-socket')).toBe('unix-socket');
  });
});
