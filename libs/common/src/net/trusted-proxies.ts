import ipaddr from 'ipaddr.js';

/** A parsed IPv4/IPv6 network. */
export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses one IP or CIDR, normalising IPv4-mapped IPv6. Throws with a readable message. */
export function parseCidr(text: string): Cidr {
  const value = text.trim();
  if (value === '') throw new Error('empty entry');
  let cidr: Cidr;
  try {
    if (value.includes('/')) {
      cidr = ipaddr.parseCIDR(value);
    } else {
      const address = ipaddr.parse(value);
      cidr = [address, address.kind() === 'ipv4' ? 32 : 128];
    }
  } catch {
    throw new Error(`"${value}" is not an IP address or CIDR`);
  }
  const [address, prefix] = cidr;
  // Trusting every address would let any client forge X-Forwarded-For (DESIGN.md section 7).
  if (prefix === 0) throw new Error(`"${value}" trusts every address; a prefix of length 0 is refused`);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return cidr;
}

/** Parses a comma-separated `TRUSTED_PROXIES` value; empty means "trust nobody". */
export function parseTrustedProxies(text: string): Cidr[] {
  if (text.trim() === '') return [];
  return text.split(',').map(parseCidr);
}

/** Parses an address as a socket or header reports it; undefined when it is not an IP. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const value = text.trim();
  if (!ipaddr.isValid(value)) return undefined;
  const address = ipaddr.parse(value);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

/** True when `address` lies in one of `networks`. */
export function isTrusted(address: ipaddr.IPv4 | ipaddr.IPv6, networks: readonly Cidr[]): boolean {
  return networks.some(([net, prefix]) => net.kind() === address.kind() && address.match([net, prefix] as never));
}
