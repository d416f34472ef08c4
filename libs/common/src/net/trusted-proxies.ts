import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A parsed IPv4/IPv6 network. */
export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses an address strictly, so that every reader of the same text agrees on what it means
 * (Postgres' inet, nginx, the kernel): a dotted-quad IPv4 (no `127.1`, `0x7f.1`, `2130706433` or
 * leading-zero octal forms, which different parsers read differently) or an RFC 4291 IPv6 text.
 * Node's `isIP*` checks the syntax; ipaddr.js alone would accept what Postgres refuses and read some
 * of it differently:
 * - a zone id (`fe80::1%eth0`): not part of the address (RFC 4007 section 11) and refused by inet;
 * - an embedded IPv4 in hex or with leading zeros (`::ffff:0x7f.0.0.1` read as 127.0.0.1);
 * - the IPv4-compatible `::1.2.3.4`, which ipaddr.js reads as the mapped `::ffff:1.2.3.4` while
 *   everyone else reads `::102:304`; the dotted tail is therefore converted to hex groups first.
 * Undefined when the text is none of these.
 */
function parseStrict(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (isIPv4(text)) return ipaddr.IPv4.parse(text);
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const tailAt = text.lastIndexOf(':') + 1;
  const tail = text.slice(tailAt);
  if (!tail.includes('.')) return ipaddr.IPv6.parse(text);
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(tail).octets;
  return ipaddr.IPv6.parse(
    `${text.slice(0, tailAt)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`,
  );
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

/** Parses an address as a header reports it; undefined when it is not an IP. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const address = parseStrict(text.trim());
  if (!address) return undefined;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

/**
 * Parses a socket's peer address. Node appends the zone to a link-local IPv6 peer (`fe80::1%eth0`);
 * the zone names an interface of this host, not the client (RFC 4007 section 11), and Postgres' inet
 * refuses it, so it is dropped. A forwarded hop with a zone id, by contrast, is malformed: no proxy
 * can meaningfully forward an interface of its own host.
 */
export function parsePeerAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const zoneAt = text.indexOf('%');
  return parseAddress(zoneAt === -1 ? text : text.slice(0, zoneAt));
}

/** True when `address` lies in one of `networks`. */
export function isTrusted(address: ipaddr.IPv4 | ipaddr.IPv6, networks: readonly Cidr[]): boolean {
  return networks.some(
    ([net, prefix]) => net.kind() === address.kind() && address.match([net, prefix] as never),
  );
}
