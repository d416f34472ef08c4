import { lookup } from 'node:dns/promises';
import net from 'node:net';

/**
 * Where load may go. Load traffic goes only to loopback (127.0.0.0/8, ::1) unless the operator
 * says otherwise with `--allow-remote-target`: a mistyped URL must not load-test someone else's
 * server. The name is resolved once and the connection goes to the address that was checked, so a
 * DNS answer that changes during the run cannot redirect it.
 */

/** The checked target. */
export interface Target {
  /** The URL as given (reports show it). */
  url: string;
  /** What the generator connects to: the checked address for loopback targets. */
  origin: string;
  loopback: boolean;
  /** The address connected to (loopback targets), else the host name. */
  address: string;
}

/** A refused or malformed target (the CLI prints it as a usage error). */
export class TargetError extends Error {
  override name = 'TargetError';
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  return net.isIPv6(address) && (address === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(address));
}

type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (host) => lookup(host, { all: true, verbatim: true });

/** Parses and checks `--target`; throws {@link TargetError}. */
export async function resolveTarget(
  raw: string,
  options: { allowRemote: boolean; lookup?: Lookup },
): Promise<Target> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetError(`--target: not a URL: ${raw}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TargetError(`--target: ${url.protocol} is not http(s)`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new TargetError('--target: give the gateway origin only (e.g. https://localhost:8443)');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = net.isIP(host)
    ? [{ address: host, family: net.isIPv6(host) ? 6 : 4 }]
    : await (options.lookup ?? systemLookup)(host).catch((err: unknown) => {
        throw new TargetError(`--target: cannot resolve ${host}: ${String(err)}`);
      });
  if (addresses.length === 0) throw new TargetError(`--target: ${host} resolves to nothing`);
  const loopback = addresses.every((a) => isLoopback(a.address));
  if (!loopback && !options.allowRemote) {
    throw new TargetError(
      `--target ${raw} is not a loopback address (${addresses.map((a) => a.address).join(', ')}); ` +
        'load goes only to 127.0.0.0/8 or ::1 unless you pass --allow-remote-target',
    );
  }
  if (!loopback) return { url: raw, origin: url.origin, loopback, address: host };
  // Prefer IPv4 loopback: it offers a whole /8 of client source addresses (see sources()).
  const chosen = addresses.find((a) => a.family === 4) ?? addresses[0]!;
  const hostPart = chosen.family === 6 ? `[${chosen.address}]` : chosen.address;
  return {
    url: raw,
    origin: `${url.protocol}//${hostPart}${url.port ? `:${url.port}` : ''}`,
    loopback,
    address: chosen.address,
  };
}

/** The gateway's own upstream source address in the local stack (proxy_bind): never a client. */
export const GATEWAY_PROXY_ADDRESS = '127.0.0.2';

/**
 * `count` distinct client source addresses for an IPv4 loopback target: 127.0.0.10, .11, … (then
 * 127.0.1.x, …), never {@link GATEWAY_PROXY_ADDRESS}. Elsewhere a client cannot pick its address,
 * so the OS's choice is the only source (`[undefined]`).
 */
export function sourceAddresses(target: Target, count: number): (string | undefined)[] {
  if (!target.loopback || !net.isIPv4(target.address) || count <= 1) return [undefined];
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const n = 10 + i;
    const third = Math.floor(n / 250);
    const fourth = (n % 250) + 1; // 1…250: no network or broadcast-looking octets
    if (third > 255) break;
    const address = `127.0.${third}.${fourth}`;
    if (address !== GATEWAY_PROXY_ADDRESS) out.push(address);
  }
  return out;
}
