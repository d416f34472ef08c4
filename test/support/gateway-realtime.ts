import { connectRealtime, type RealtimeClient } from '@concord/client';
import type { E2eStack, Replica } from './e2e-stack';
import { gatewayHttp } from './gateway-http';

/** A socket.io-client transport (DESIGN.md section 6: WebSocket, or long-polling where it is blocked). */
export type SocketTransport = 'websocket' | 'polling';

/**
 * The realtime replica the gateway sends `localAddress` to: nginx hashes the realtime upstream on
 * the client address, and an Engine.IO handshake names its replica in `X-Concord-Replica`.
 */
export async function realtimeReplicaOf(stack: E2eStack, localAddress: string): Promise<string> {
  const client = gatewayHttp({ url: stack.gatewayUrl, ca: stack.caCert, version: 'http/1.1', localAddress });
  try {
    const res = await client.request('GET', '/socket.io/?EIO=4&transport=polling');
    const replica = res.headers['x-concord-replica'];
    if (res.status !== 200 || typeof replica !== 'string') {
      throw new Error(`the polling handshake from ${localAddress} answered ${res.status} without a replica`);
    }
    return replica;
  } finally {
    await client.close();
  }
}

/**
 * One source address per realtime replica, searched from `127.0.0.<first>` upwards (never the
 * proxy's 127.0.0.2), in replica order: `[address on realtime-service-1, address on -2, …]`.
 */
export async function addressPerRealtimeReplica(stack: E2eStack, first: number): Promise<string[]> {
  const found = new Map<string, string>();
  for (let last = first; last < first + 64 && found.size < stack.realtime.length; last++) {
    const address = `127.0.0.${last}`;
    const replica = await realtimeReplicaOf(stack, address);
    if (!found.has(replica)) found.set(replica, address);
  }
  return stack.realtime.map((r) => {
    const address = found.get(r.id);
    if (!address)
      throw new Error(`no address from 127.0.0.${first} on reaches ${r.id}: ${JSON.stringify([...found])}`);
    return address;
  });
}

/** The `concord_realtime_sockets` gauge of one replica (its metrics port): sockets it holds. */
export async function socketsOn(replica: Replica): Promise<number> {
  const text = await (await fetch(replica.metricsUrl)).text();
  const line = /^concord_realtime_sockets(?:\{[^}]*\})? (\d+)$/m.exec(text);
  if (!line) throw new Error(`${replica.id} exposes no concord_realtime_sockets gauge`);
  return Number(line[1]);
}

/**
 * A socket.io-client through the gateway (or straight at `url`) from `localAddress`, over
 * `transport` only; closed by the caller.
 */
export function gatewaySocket(
  stack: E2eStack,
  token: string,
  options: {
    localAddress: string;
    transport: SocketTransport;
    url?: string;
    extraHeaders?: Record<string, string>;
  },
): RealtimeClient {
  return connectRealtime({
    url: options.url ?? stack.gatewayUrl,
    token,
    ca: stack.caCert,
    localAddress: options.localAddress,
    transports: [options.transport],
    extraHeaders: options.extraHeaders,
    // A refused or cut socket must stay down: a test asserts that it was cut, not that it came back.
    socketOptions: { reconnection: false },
  });
}
