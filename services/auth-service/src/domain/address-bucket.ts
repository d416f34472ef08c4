import { parseAddress } from '@concord/common';
import ipaddr from 'ipaddr.js';

/**
 * The throttle bucket of a client address: an IPv4 address as is, an IPv6 address as its /64.
 * One IPv6 subscriber is routinely handed a whole /64 (RFC 6177, RFC 7934), so per-address budgets
 * keyed by the full 128 bits would give an attacker 2^64 fresh budgets; nginx's limits bucket the
 * same way. IPv4-mapped IPv6 counts as the IPv4 address (the shared strict parser normalises it).
 * Anything that is not an IP (a Unix socket peer) is its own bucket.
 */
export function addressBucket(ip: string): string {
  const address = parseAddress(ip);
  if (!address) return ip;
  if (address.kind() === 'ipv4') return address.toString();
  const network = new ipaddr.IPv6([...(address as ipaddr.IPv6).parts.slice(0, 4), 0, 0, 0, 0]);
  return `${network.toString()}/64`;
}
