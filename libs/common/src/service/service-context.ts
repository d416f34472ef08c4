import type http from 'node:http';
import type { RequestListener } from 'node:http';
import type { Pool } from 'pg';
import type { DestinationStream } from 'pino';
import type { z } from 'zod';
import type { Authenticator } from '../auth/authenticator';
import type { RevocationCache } from '../auth/revocation-cache';
import type { RevocationEntry } from '../auth/revocation-protocol';
import type { TokenVerifier } from '../auth/token-verifier';
import type { VerificationKeys } from '../auth/verification-keys';
import type { baseEnvSchema } from '../config/base-config';
import type { HttpFront } from '../http/service-app';
import type { Logger } from '../logging/logger';
import type { ClientIpResolver } from '../net/client-ip';
import type { Clock } from '../ops/clock';
import type { Metrics } from '../ops/metrics';
import type { PgPoolOptions } from '../pg/pg-pool';
import type { RedisClients } from '../redis/redis-clients';
import type { NamespaceDefinition } from '../settings/setting-definition';
import type { ServiceSettings } from '../settings/service-settings';

/** The canonical keys every service's config has (DESIGN.md section 7); each `Config` extends it. */
export type ServiceConfig = Readonly<
  z.output<ReturnType<typeof baseEnvSchema>> & {
    /** The `api` settings this process's environment pins (loadConfigWithApiSettings), by key. */
    SETTINGS_ENV?: ReadonlyMap<string, unknown>;
  }
>;

/** What a service asks the bootstrap to build for it besides what every service gets. */
export interface ServiceFeatures {
  /** A Postgres pool on `DATABASE_URL` (`ctx.pool`), ended at shutdown after the stop hooks. */
  database?: PgPoolOptions;
  /**
   * Access tokens verified against auth-service's JWKS at `JWKS_URL` (`ctx.verifier`,
   * `ctx.authenticator`). auth-service verifies against its own key ring instead
   * (`ctx.createTokenVerifier(ring)`).
   */
  remoteJwks?: true;
  /**
   * The `api` settings (DESIGN.md section 5), which every Concord service applies: a settings
   * follower (`ctx.settings`) started before anything else is built, the restart keys it read
   * (`server_host`, `trusted_proxies`, `ssl_*`: the listeners and the client-IP resolver use them
   * where the environment does not pin them), CORS on every request, and the per-client rate limit
   * in every authenticator's `requireAuth`. Needs Postgres (a pool is opened for it).
   */
  settings?: { namespaces?: readonly NamespaceDefinition[] };
}

/** Registers a shutdown step; see {@link ServiceContext.onStop}. */
export type StopHook = () => Promise<unknown> | unknown;

/** A part that runs in the background: an events consumer, a relay, a presence tracker. */
export interface BackgroundPart {
  start?(): Promise<unknown> | unknown;
  stop(): Promise<unknown> | unknown;
}

/**
 * What every service gets from the bootstrap: config read once, logger, Redis clients, metrics,
 * the revocation cache, the client-IP resolver, the shared HTTP front and the public server, plus
 * the hooks to hang its own parts on.
 */
export interface ServiceContext<C extends ServiceConfig = ServiceConfig> {
  /** `auth-service`, `settings-service`, …: the logger's and the metrics' `service`. */
  readonly name: string;
  readonly config: C;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly redis: RedisClients;
  readonly metrics: Metrics;
  /**
   * The process's revocation set. The bootstrap starts it after `build` returned (auth's publisher
   * seeds the snapshot first) and before listening, so no request is judged before it is loaded.
   */
  readonly revocations: RevocationCache;
  /** `TRUSTED_PROXIES`-aware client address, for HTTP and Socket.IO handshakes alike. */
  readonly resolveClientIp: ClientIpResolver;
  /**
   * What every app of the process shares: `createServiceApp(ctx.http, …)`. Its `readiness` is not
   * draining and snapshot loaded; push more checks onto it, and cross-cutting middleware onto
   * `ctx.http.middleware`, before building an app.
   */
  readonly http: HttpFront;
  /**
   * The public server on `PORT` (HTTPS when `TLS_CERT_FILE`/`TLS_KEY_FILE` are set), not listening
   * yet: Socket.IO attaches to it. The bootstrap hands it the `app` that `build` returns.
   */
  readonly server: http.Server;
  /** True from the moment shutdown began (readiness is false from then on). */
  isDraining(): boolean;
  /** A verifier over `keys` with this process's issuer, audience, algorithm, clock tolerance and lifetime bound. */
  createTokenVerifier(keys: VerificationKeys): TokenVerifier;
  /** The authenticator over `verifier` and {@link ServiceContext.revocations}. */
  createAuthenticator(verifier: TokenVerifier): Authenticator;
  /**
   * Registers a shutdown step. Steps run after every listener drained, in reverse order of
   * registration (what was built last stops first), before the bootstrap's own clients close; a
   * failing step is logged and the others still run.
   */
  onStop(name: string, stop: StopHook): void;
  /** Starts `part` now and registers its `stop` (see {@link ServiceContext.onStop}). */
  background(name: string, part: BackgroundPart): Promise<void>;
  /** Runs `task` every `intervalMs` (never keeping the process alive; failures logged), until shutdown. */
  every(name: string, intervalMs: number, task: () => Promise<unknown>): void;
}

/** The context `build` gets for the features it asked for. */
export type ContextOf<C extends ServiceConfig, F extends ServiceFeatures> = ServiceContext<C> &
  (F extends { database: PgPoolOptions } ? { readonly pool: Pool } : unknown) &
  (F extends { remoteJwks: true }
    ? { readonly verifier: TokenVerifier; readonly authenticator: Authenticator }
    : unknown) &
  (F extends { settings: object } ? { readonly settings: ServiceSettings } : unknown);

/** A listener besides the public one, e.g. auth-service's `INTERNAL_PORT`. */
export interface ListenerSpec {
  /** Names its port in {@link RunningService.ports} and in the "listening" line (`<name>Port`). */
  name: string;
  app: RequestListener;
  port: number;
  /**
   * Whether `TLS_CA_FILE`'s client-certificate verification (the gateway's mTLS) applies; the
   * server certificate is the same either way. Default true.
   */
  clientCertificates?: boolean;
}

/** What a service's `build` returns: its apps and what its shutdown needs besides the stop hooks. */
export interface ServiceParts {
  /** The public app, served on `PORT` by `ctx.server`. */
  app: RequestListener;
  /** Further listeners, closed after the public one, in this order. */
  listeners?: ListenerSpec[];
  /**
   * Runs while the public server drains its in-flight requests, once readiness is false: realtime
   * closes its sockets' transports here so that clients reconnect to another replica.
   */
  drain?(): Promise<void>;
  /** Called with what the revocation cache applies: each message's entries, the whole set after each load. */
  onRevoked?(entries: RevocationEntry[]): void;
  /** Extra fields of the "listening" line (e.g. the Socket.IO adapter). */
  describe?: Record<string, unknown>;
}

/** The service definition main.ts hands to the bootstrap. */
export interface ServiceDefinition<C extends ServiceConfig, F extends ServiceFeatures> {
  name: string;
  features: F;
  /** The service's own wiring: domain, data access, apps and background parts, from `ctx`. */
  build(ctx: ContextOf<C, F>): Promise<ServiceParts> | ServiceParts;
}

/** Test hooks of a service's `start…(config, options)`. */
export interface StartOptions {
  clock?: Clock;
  /** Where log lines go (tests read them); asynchronous stdout otherwise. */
  logDestination?: DestinationStream;
}

/** A running service process (or in-process instance in tests). */
export interface RunningService {
  readonly name: string;
  readonly port: number;
  readonly metricsPort: number;
  /** Bound ports of the extra listeners, by {@link ListenerSpec.name}. */
  readonly ports: Readonly<Record<string, number>>;
  readonly logger: Logger;
  /**
   * SIGTERM behaviour: readiness false, stop accepting, drain in-flight requests (and the
   * service's `drain`), stop hooks in reverse order, close clients, flush logs. Idempotent; rejects
   * after every step ran when one failed.
   */
  shutdown(): Promise<void>;
}
