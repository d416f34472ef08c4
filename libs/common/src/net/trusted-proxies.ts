import ipaddr from 'ipaddr.js';

/** A parsed IPv4/IPv6 network. */
export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses an address strictly: dotted-quad IPv4 (no `127.1`, `0x7f.1`, `2130706433` or leading-zero
 * octal forms, which different parsers read differently) or IPv6. Undefined when it is neither.
 */
function parseStrict(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

/** Parses one IP or CIDR, normalising IPv4-mapped IPv6. Throws with a readable message. */
export function parseCidr(text: string): Cidr {
  const value = text.trim();
  if (value === '') throw new Error('empty entry');
  const [addressText = '', prefixText, ...rest] = value.split('/');
  const parsed = parseStrict(addressText);
  const maxPrefix = parsed?.kind() === 'ipv4' ? 32 : 128;
  const prefix =
    prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!parsed || rest.length > 0 || !(prefix >= 0 && prefix <= maxPrefix)) {
    throw new Error(`"${value}" is not an IP address or CIDR`);
  }
  let cidr: Cidr = [parsed, prefix];
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    // Peers are normalised to IPv4 too, so the mapped network must become the IPv4 one.
    cidr = [(parsed as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  // Trusting every address would let any client forge X-Forwarded-For (DESIGN.md section 7). Checked
  // after normalisation: `::ffff:0.0.0.0/96` is every IPv4 address.
  if (cidr[1] === 0) throw new Error(`"${value}" trusts every address; a prefix of length 0 is refused`);
  return cidr;
}

/** Parses a comma-separated `TRUSTED_PROXIES` value; empty means "trust nobody". */
export function parseTrustedProxies(text: string): Cidr[] {
  if (text.trim() === '') return [];
  return text.split(',').map(parseCidr);
}

/** Parses an address as a socket or header reports it; undefined when it is not an IP. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const address = parseStrict(text.trim());
  if (!address) return undefined;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

/** True when `address` lies in one of `networks`. */
export function isTrusted(address: ipaddr.IPv4 | ipaddr.IPv6, networks: readonly Cidr[]): boolean {
  return networks.some(
    ([net, prefix]) => net.kind() === address.kind() && address.match([net, prefix] as never),
  );
}
