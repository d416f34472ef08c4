import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../errors/app-error';
import { isTrusted, parseAddress, parsePeerAddress, type Cidr } from './trusted-proxies';

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

interface Classified {
  /** Canonical text (what Postgres' inet accepts), or the input when it is not an address. */
  text: string;
  valid: boolean;
  trusted: boolean;
}

/**
 * Memoizes how each string parses. Addresses repeat (the proxies, and each client's own address in
 * X-Forwarded-For): remembering them keeps address parsing off the per-request path. Bounded so that
 * a flood of distinct addresses cannot grow it without limit.
 */
function memoizedClassifier(
  parse: (text: string) => ReturnType<typeof parseAddress>,
  trusted: readonly Cidr[],
): (value: string) => Classified {
  const known = new Map<string, Classified>();
  return (value) => {
    let entry = known.get(value);
    if (!entry) {
      const address = parse(value);
      entry = {
        text: address ? address.toString() : value,
        valid: address !== undefined,
        trusted: address ? isTrusted(address, trusted) : false,
      };
      if (known.size >= 4096) known.clear();
      known.set(value, entry);
    }
    return entry;
  };
}

/**
 * The one client-IP resolver (DESIGN.md section 7). `X-Forwarded-*` count only when the socket peer
 * is a trusted proxy; the `X-Forwarded-For` chain is then walked right to left and the first
 * untrusted address is the client (the leftmost ones may have been written by the client itself).
 * The `ip` it returns is always a canonical address that Postgres' inet accepts: a malformed hop
 * ends the walk, and a peer that is no address at all (the socket closed before it was read) is a
 * 400 problem, thrown.
 */
export function createClientIpResolver(trusted: readonly Cidr[]): ClientIpResolver {
  // Peers and hops parse differently (a peer's zone id is dropped, a hop's is malformed), so each
  // has its own memo.
  const classifyPeer = memoizedClassifier(parsePeerAddress, trusted);
  const classifyHop = memoizedClassifier(parseAddress, trusted);
  return (peer, headers, encrypted) => {
    const { text: peerText, valid: peerValid, trusted: peerTrusted } = classifyPeer(peer);
    if (!peerValid) throw new AppError('REQUEST_VALIDATION_ERROR', 'The client address cannot be determined');
    const direct: ClientInfo = { ip: peerText, proto: encrypted ? 'https' : 'http', host: headers.host };
    if (!peerTrusted) return direct;

    let ip = peerText;
    const chain = (firstHeader(headers['x-forwarded-for']) ?? '').split(',');
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = classifyHop((chain[i] ?? '').trim());
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
