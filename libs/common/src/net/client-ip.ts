import type { IncomingHttpHeaders } from 'node:http';
import { isTrusted, parseAddress, type Cidr } from './trusted-proxies';

/** What the resolver concludes about the client. */
export interface ClientInfo {
  ip: string;
  proto: string;
  host: string | undefined;
}

/** Resolves the client from the socket peer and headers; shared by Express and Socket.IO. */
export type ClientIpResolver = (peer: string, headers: IncomingHttpHeaders, encrypted: boolean) => ClientInfo;

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The one client-IP resolver (DESIGN.md section 7). `X-Forwarded-*` count only when the socket peer
 * is a trusted proxy; the `X-Forwarded-For` chain is then walked right to left and the first
 * untrusted address is the client (the leftmost ones may have been written by the client itself).
 */
export function createClientIpResolver(trusted: readonly Cidr[]): ClientIpResolver {
  // Socket peers are few (the proxies, or a client's few addresses): remembering how each one
  // parses keeps address parsing off the per-request path. Bounded so that a flood of distinct
  // direct clients cannot grow it without limit.
  const peers = new Map<string, { text: string; trusted: boolean }>();
  function classify(peer: string): { text: string; trusted: boolean } {
    let known = peers.get(peer);
    if (!known) {
      const address = parseAddress(peer);
      known = {
        text: address ? address.toString() : peer,
        trusted: address ? isTrusted(address, trusted) : false,
      };
      if (peers.size >= 1024) peers.clear();
      peers.set(peer, known);
    }
    return known;
  }
  return (peer, headers, encrypted) => {
    const { text: peerText, trusted: peerTrusted } = classify(peer);
    const direct: ClientInfo = { ip: peerText, proto: encrypted ? 'https' : 'http', host: headers.host };
    if (!peerTrusted) return direct;

    let ip = peerText;
    const chain = (firstHeader(headers['x-forwarded-for']) ?? '').split(',').map((s) => s.trim());
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = parseAddress(chain[i] ?? '');
      // A garbage hop means the chain cannot be trusted past this point: stop at the last good one.
      if (!hop) break;
      ip = hop.toString();
      if (!isTrusted(hop, trusted)) break;
    }
    const proto = firstHeader(headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase();
    const host = firstHeader(headers['x-forwarded-host'])?.split(',')[0]?.trim();
    return {
      ip,
      proto: proto === 'http' || proto === 'https' ? proto : direct.proto,
      host: host || direct.host,
    };
  };
}
