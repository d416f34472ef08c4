/**
 * @concord/common: what at least two Concord services share — the service bootstrap
 * (`startService`, `runService`), configuration, errors, logging, the HTTP app skeleton, client-IP
 * resolution, Redis clients and the rate limiter, Postgres transactions and keyset cursors, JWT
 * verification, the revocation cache, the transactional outbox, the `api` settings and their live
 * follower, CORS, the per-client rate limit, health and metrics.
 */
export * from './errors/error-catalogue';
export * from './errors/app-error';
export * from './errors/problem';
export * from './config/env-types';
export * from './config/base-config';
export * from './config/load-config';
export * from './net/trusted-proxies';
export * from './net/client-ip';
export * from './logging/redact-secrets';
export * from './logging/logger';
export * from './http/request-context';
export * from './http/send-json';
export * from './http/observe-requests';
export * from './http/problem-middleware';
export * from './http/service-app';
export * from './redis/redis-clients';
export * from './redis/redis-connection';
export * from './redis/leased-rate-limiter';
export * from './redis/redis-rate-limiter';
export * from './pg/pg-pool';
export * from './pg/pg-transaction';
export * from './pg/keyset-cursor';
export * from './auth/revocation-protocol';
export * from './auth/revocation-store';
export * from './auth/revocation-cache';
export * from './auth/verification-keys';
export * from './auth/token-verifier';
export * from './auth/remote-key-set';
export * from './auth/authenticator';
export * from './outbox/outbox';
export * from './outbox/outbox-relay';
export * from './outbox/outbox-channel';
export * from './redis/channel-subscription';
export * from './settings/setting-definition';
export * from './settings/api.settings';
export * from './settings/bench.settings';
export * from './settings/setting-env';
export * from './settings/setting-mask';
export * from './settings/effective-value';
export * from './settings/settings-events';
export * from './settings/settings-relay';
export * from './settings/stored-settings';
export * from './settings/events-subscription';
export * from './settings/revision-dedupe';
export * from './settings/settings-follower';
export * from './settings/api-settings-view';
export * from './settings/api-settings-config';
export * from './settings/service-settings';
export * from './http/cors';
export * from './http/client-rate-limit';
export * from './ops/clock';
export * from './ops/health';
export * from './ops/metrics';
export * from './ops/http-server';
export * from './service/service-context';
export * from './service/start-service';
export * from './service/run-service';
