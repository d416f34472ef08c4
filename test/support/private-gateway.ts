import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  credentialEndpointNames,
  ensureTlsMaterial,
  renderNginxConfig,
  startNginx,
} from '../../proxy/gateway';
import { freePort } from './processes';

/** A private nginx in front of a test's replicas, on free ports under `dir`. */
export interface PrivateGateway {
  /** `https://localhost:<free port>`. */
  url: string;
  caFile: string;
  caCert: Buffer;
  stop(): Promise<void>;
}

/**
 * Renders the gateway config (proxy/gateway, as the stack does) for `ports` by upstream, with a local
 * CA, the replica header passed through and `credentialLimit` on every credential endpoint (default
 * far above anything a test sends), and starts nginx. Upstream connections leave from 127.0.0.2,
 * the address the services are told to trust.
 */
export async function startPrivateGateway(options: {
  dir: string;
  ports: Record<'auth' | 'settings' | 'realtime', number[]>;
  credentialLimit?: { rate: string; burst: number };
}): Promise<PrivateGateway> {
  const tls = await ensureTlsMaterial(path.join(options.dir, 'tls'));
  const httpsPort = await freePort();
  const runDir = path.join(options.dir, 'nginx');
  const servers = (ports: number[]) => ports.map((port) => `127.0.0.1:${port}`);
  const config = renderNginxConfig({
    runDir,
    httpsListen: { host: '127.0.0.1', port: httpsPort },
    httpListen: { host: '127.0.0.1', port: await freePort() },
    tlsCert: tls.cert,
    tlsKey: tls.key,
    proxyBind: '127.0.0.2',
    upstreams: {
      auth: servers(options.ports.auth),
      settings: servers(options.ports.settings),
      realtime: servers(options.ports.realtime),
    },
    exposeReplicaHeader: true,
    credentialLimits: Object.fromEntries(
      credentialEndpointNames().map((name) => [
        name,
        options.credentialLimit ?? { rate: '1000r/s', burst: 1000 },
      ]),
    ),
  });
  const nginx = await startNginx({ runDir, config });
  return {
    url: `https://localhost:${httpsPort}`,
    caFile: tls.caCert,
    caCert: readFileSync(tls.caCert),
    stop: () => nginx.stop(),
  };
}
