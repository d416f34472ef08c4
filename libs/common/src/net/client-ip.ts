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
  // Addresses repeat (the proxies, and each client's own address in X-Forwarded-For): remembering
  // how each string parses keeps address parsing off the per-request path. Bounded so that a flood
  // of distinct addresses cannot grow it without limit.
  const known = new Map<string, { text: string; valid: boolean; trusted: boolean }>();
  function classify(value: string): { text: string; valid: boolean; trusted: boolean } {
    let entry = known.get(value);
    if (!entry) {
      const address = parseAddress(value);
      entry = {
        text: address ? address.toString() : value,
        valid: address !== undefined,
        trusted: address ? isTrusted(address, trusted) : false,
      };
      if (known.size >= 4096) known.clear();
      known.set(value, entry);
    }
    return entry;
  }
  return (peer, headers, encrypted) => {
    const { text: peerText, trusted: peerTrusted } = classify(peer);
    const direct: ClientInfo = { ip: peerText, proto: encrypted ? 'https' : 'http', host: headers.host };
    if (!peerTrusted) return direct;

    let ip = peerText;
    const chain = (firstHeader(headers['x-forwarded-for']) ?? '').split(',');
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = classify((chain[i] ?? '').trim());
      // A garbage hop means the chain cannot be trusted past this point: stop at the last good one.
      if (!hop.valid) break;
      ip = hop.text;
      if (!hop.trusted) break;
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
