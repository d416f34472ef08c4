import type http from 'node:http';
import { createAuthenticator, type Authenticator } from '../auth/authenticator';
import { createRemoteKeySet } from '../auth/remote-key-set';
import type { TokenVerifier } from '../auth/token-verifier';
import { exposureWarning } from '../config/load-config';
import { withClientRateLimit } from '../http/client-rate-limit';
import type { HttpFront } from '../http/service-app';
import { createLogger, flushLogger } from '../logging/logger';
import { createClientIpResolver } from '../net/client-ip';
import { systemClock } from '../ops/clock';
import { adoptAppPrototypes, closeGracefully, createServer, listen } from '../ops/http-server';
import { createMetricsServer } from '../ops/metrics';
import { startServiceSettings } from '../settings/service-settings';
import { openServiceClients, tlsFiles, tokenVerifierFactory } from './service-clients';
import type {
  ContextOf,
  RunningService,
  ServiceConfig,
  ServiceContext,
  ServiceDefinition,
  ServiceFeatures,
  ServiceParts,
  StartOptions,
} from './service-context';
import { createShutdownSteps, runStep } from './shutdown-steps';

/** Grace of the extra listeners and the metrics server once the public one has drained. */
const SECONDARY_GRACE_MS = 1_000;

/**
 * The composition steps every service shares (DESIGN.md section 1: each service's main.ts stays
 * its only composition root and calls this with its own `build`). In order: the logger; the
 * Postgres pool when asked for, the Redis clients, the metrics registry, the revocation cache; with
 * the `settings` feature, the settings follower, whose restart keys then set the bind address, TLS
 * and trusted proxies where the environment does not (and CORS and the per-client rate limit join
 * the front and every authenticator); the exposure warning, the client-IP resolver and, for
 * verifiers, the remote-JWKS verifier and authenticator; then the service's `build`; then the revocation cache starts (subscribe, load) and
 * the public app, the extra listeners and the metrics server listen, with Concord's keep-alive
 * timeouts and optional direct TLS. A start that fails part way releases what it had built, then
 * rethrows.
 *
 * Shutdown ({@link RunningService.shutdown}): readiness false; the public listener stops accepting
 * and drains in-flight requests for up to `SHUTDOWN_GRACE_MS` while the service's `drain` runs; the
 * extra listeners close; the service's stop hooks run in reverse order; the metrics listener
 * closes; the revocation cache stops, Redis and Postgres close; the logs are flushed.
 */
export async function startService<C extends ServiceConfig, F extends ServiceFeatures>(
  config: C,
  definition: ServiceDefinition<C, F>,
  options: StartOptions = {},
): Promise<RunningService> {
  const { name } = definition;
  const clock = options.clock ?? systemClock;
  const logger = createLogger({
    level: config.LOG_LEVEL,
    service: name,
    replicaId: config.REPLICA_ID,
    destination: options.logDestination,
  });

  // The service's stop hooks, and the bootstrap's own clients, which outlive them.
  const hooks = createShutdownSteps(logger);
  const owned = createShutdownSteps(logger);
  const servers: http.Server[] = [];
  let draining = false;
  let parts: ServiceParts | undefined;

  try {
    const clients = await openServiceClients(config, definition.features, {
      name,
      logger,
      clock,
      owned,
      onRevoked: (entries) => parts?.onRevoked?.(entries),
    });
    const { metrics, revocations } = clients;
    // Before anything is built from them: the restart keys are read once, at start.
    const settings = definition.features.settings
      ? await startServiceSettings({
          service: name,
          pool: clients.pool!,
          redis: clients.redis,
          prefix: config.REDIS_PREFIX,
          envValues: config.SETTINGS_ENV ?? new Map(),
          maxAccessTtlSeconds: config.JWT_MAX_ACCESS_TTL_SECONDS,
          logger,
          metrics,
          extraNamespaces: definition.features.settings.namespaces,
        })
      : undefined;
    if (settings) owned.add('stop the settings follower', () => settings.stop());
    const host = settings?.start.host ?? config.HOST;
    const trustedProxies = settings?.start.trustedProxies ?? config.TRUSTED_PROXIES;
    const tls = settings ? settings.start.tls : tlsFiles(config);
    const warning = exposureWarning({
      HOST: host,
      TLS_CERT_FILE: tls?.cert,
      TRUSTED_PROXIES: trustedProxies,
    });
    if (warning) logger.warn(warning);
    const http: HttpFront = {
      logger,
      metrics,
      readiness: [
        () => (draining ? 'draining' : undefined),
        () => (revocations.isLoaded() ? undefined : 'revocation snapshot not loaded'),
      ],
      resolveClientIp: createClientIpResolver(trustedProxies),
      replicaId: config.REPLICA_ID,
      exposeReplicaHeader: config.EXPOSE_REPLICA_HEADER,
      slowRequestMs: config.SLOW_REQUEST_MS,
      // CORS first: a preflight carries no token and must be answered before anything refuses it.
      middleware: settings ? [settings.cors] : [],
    };
    // The request handler is in place before the service's wiring sees the server, and hands each
    // request to the app once it exists (the server listens only after that). A wiring that attaches
    // to the server (Socket.IO) then wraps this one handler and keeps its own paths from the app:
    // a second handler added later would answer those paths as well (a 404 beside Engine.IO's answer).
    const handler: { app?: http.RequestListener } = {};
    const server = createServer((req, res) => {
      if (handler.app) return void handler.app(req, res);
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('starting');
    }, tls);
    servers.push(server);
    const createVerifier = tokenVerifierFactory(config, clock);
    // Every authenticated API request of every service passes the general per-client limit.
    const authenticate = (verifier: TokenVerifier): Authenticator => {
      const authenticator = createAuthenticator(verifier, revocations);
      return settings ? withClientRateLimit(authenticator, settings.rateLimit) : authenticator;
    };

    const context: ServiceContext<C> = {
      name,
      config,
      clock,
      logger,
      redis: clients.redis,
      metrics,
      revocations,
      resolveClientIp: http.resolveClientIp,
      http,
      server,
      isDraining: () => draining,
      createTokenVerifier: createVerifier,
      createAuthenticator: authenticate,
      onStop: (step, stop) => hooks.add(step, stop),
      async background(step, part) {
        await part.start?.();
        hooks.add(`stop ${step}`, () => part.stop());
      },
      every(step, intervalMs, task) {
        const timer = setInterval(() => {
          task().catch((err: unknown) => logger.warn({ err, task: step }, 'periodic task failed'));
        }, intervalMs);
        timer.unref();
        hooks.add(`stop ${step}`, () => clearInterval(timer));
      },
    };
    const features: Record<string, unknown> = {};
    if (clients.pool) features.pool = clients.pool;
    if (settings) features.settings = settings;
    if (definition.features.remoteJwks) {
      if (config.JWKS_URL === undefined) throw new Error(`${name} verifies tokens but JWKS_URL is not set`);
      const verifier = createVerifier(createRemoteKeySet(config.JWKS_URL));
      features.verifier = verifier;
      features.authenticator = authenticate(verifier);
    }
    // ContextOf<C, F> adds exactly what `features` holds for the F the service asked for.
    parts = await definition.build(Object.assign(context, features) as ContextOf<C, F>);

    await revocations.start();
    handler.app = parts.app;
    adoptAppPrototypes(server, parts.app);
    const port = await listen(server, config.PORT, host);
    const ports: Record<string, number> = {};
    const secondary: { name: string; server: http.Server }[] = [];
    for (const spec of parts.listeners ?? []) {
      const listener = createServer(
        spec.app,
        tls && spec.clientCertificates === false ? { cert: tls.cert, key: tls.key } : tls,
      );
      servers.push(listener);
      ports[spec.name] = await listen(listener, spec.port, host);
      secondary.push({ name: spec.name, server: listener });
    }
    const metricsServer = createMetricsServer(metrics.registry);
    servers.push(metricsServer);
    const metricsPort = await listen(metricsServer, config.METRICS_PORT, host);
    logger.info(
      {
        event: 'lifecycle',
        port,
        ...Object.fromEntries(Object.entries(ports).map(([key, value]) => [`${key}Port`, value])),
        metricsPort,
        ...parts.describe,
      },
      `${name} listening`,
    );

    const { drain } = parts;
    const stop = async (): Promise<void> => {
      draining = true;
      logger.info({ event: 'lifecycle' }, `${name} shutting down`);
      const listeners = createShutdownSteps(logger);
      // Both at once: the service's sockets leave while the last HTTP requests finish.
      listeners.add('drain the public listener', () =>
        Promise.all([closeGracefully(server, config.SHUTDOWN_GRACE_MS), drain?.()]),
      );
      for (const s of secondary) {
        listeners.add(`close the ${s.name} listener`, () => closeGracefully(s.server, SECONDARY_GRACE_MS));
      }
      const failures = [
        ...(await listeners.runInOrder()),
        ...(await hooks.runReversed()),
        ...(await runStep(logger, 'close the metrics listener', () =>
          closeGracefully(metricsServer, SECONDARY_GRACE_MS),
        )),
        ...(await owned.runReversed()),
      ];
      logger.info({ event: 'lifecycle', failed_steps: failures.length }, `${name} stopped`);
      await flushLogger(logger);
      if (failures.length > 0)
        throw new AggregateError(failures, `${failures.length} shutdown step(s) failed`);
    };
    let stopped: Promise<void> | undefined;
    return { name, port, metricsPort, ports, logger, shutdown: () => (stopped ??= stop()) };
  } catch (err) {
    // A failed in-process start must leak nothing (tests start and stop many); the error that
    // stopped the start is the one that matters, so cleanup failures are only logged.
    draining = true;
    await Promise.all(servers.filter((s) => s.listening).map((s) => closeGracefully(s, 0)));
    await hooks.runReversed();
    await owned.runReversed();
    throw err;
  }
}
