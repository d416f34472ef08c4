import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  credentialEndpointNames,
  ensureTlsMaterial,
  renderNginxConfig,
  startNginx,
} from '../../proxy/gateway';
import { freePort, spawnManaged, waitFor, type ManagedProcess } from '../support/processes';
import { linkServiceBuilds } from './bench-stack';

/** Bare express (or peer app) processes behind their own nginx, rendered exactly like the stack's gateway. */
export interface BaselineGateway {
  /** `https://127.0.0.1:<port>`. */
  url: string;
  caCert: Buffer;
  /** Pids of the bare handler processes (for CPU accounting). */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Options that must match test/support/e2e-stack.ts's gateway so both sides pay the same nginx
 * cost (TLS, access log, header rewriting, upstream keep-alive); only the upstream list differs.
 */
export const GATEWAY_OPTIONS = {
  proxyBind: '127.0.0.2',
  exposeReplicaHeader: true,
  credentialLimits: Object.fromEntries(
    credentialEndpointNames().map((name) => [name, { rate: '1000r/s', burst: 1000 }]),
  ),
} as const;

/** The apps that run behind a baseline gateway: the script and the path that answers 200 once it is up. */
export const BASELINE_APPS = {
  baseline: { script: 'baseline-app.js', readyPath: '/api/v1/auth/me' },
  peer: { script: 'peer-app.js', readyPath: '/healthz' },
} as const;

/**
 * Starts `count` copies of `app` (baseline-app.js by default; as many as there are service
 * replicas, so the baseline can use the same number of cores) with `env` (e.g. the setting it
 * serves) and an nginx in front of them, as the `auth` and the `settings` upstream. `stop` removes
 * everything.
 */
export async function startBaselineGateway(
  count: number,
  env: Record<string, string> = {},
  app: keyof typeof BASELINE_APPS = 'baseline',
): Promise<BaselineGateway> {
  const { script, readyPath } = BASELINE_APPS[app];
  linkServiceBuilds();
  const dir = await mkdtemp(path.join(tmpdir(), 'concord-bench-baseline-'));
  const apps: ManagedProcess[] = [];
  let nginx: { stop(): Promise<void> } | undefined;
  const stop = async () => {
    await nginx?.stop().catch(() => undefined);
    await Promise.allSettled(apps.map((a) => a.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 1; i <= count; i++) {
      const port = await freePort();
      ports.push(port);
      apps.push(
        spawnManaged(`${app}-${i}`, process.execPath, [path.join(__dirname, script)], {
          ...env,
          PORT: String(port),
        }),
      );
    }
    for (const [i, port] of ports.entries()) {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}${readyPath}`)).status === 200,
        15_000,
        () => `${app}-${i + 1} did not start:\n${apps[i]!.output()}`,
      );
    }
    const tls = await ensureTlsMaterial(path.join(dir, 'tls'));
    const httpsPort = await freePort();
    const runDir = path.join(dir, 'nginx');
    const config = renderNginxConfig({
      ...GATEWAY_OPTIONS,
      runDir,
      httpsListen: { host: '127.0.0.1', port: httpsPort },
      httpListen: { host: '127.0.0.1', port: await freePort() },
      tlsCert: tls.cert,
      tlsKey: tls.key,
      upstreams: {
        auth: ports.map((p) => `127.0.0.1:${p}`),
        settings: ports.map((p) => `127.0.0.1:${p}`),
      },
    });
    nginx = await startNginx({ runDir, config });
    return {
      url: `https://127.0.0.1:${httpsPort}`,
      caCert: await readFile(tls.caCert),
      pids: () => apps.map((a) => a.child.pid ?? -1),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
