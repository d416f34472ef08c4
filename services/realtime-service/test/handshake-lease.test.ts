import { RealtimeConnectError } from '@concord/client';
import { revocationKeys } from '@concord/common';
import { Redis } from 'ioredis';
import { dropRedisPrefix, testRedisPrefix } from '../../auth-service/test/support/auth-harness';
import { sleep, startRealtimeCluster, type RealtimeCluster } from './support/realtime-harness';

// Fail closed (DESIGN.md section 4): a node that has heard nothing on the revocation channel for a
// lease refuses handshakes with 8001. The node under test gets a prefix of its own on which an
// epoch exists but no auth-service sends heartbeats.
let cluster: RealtimeCluster;
const silentPrefix = testRedisPrefix();

beforeAll(async () => {
  cluster = await startRealtimeCluster({ nodes: 1 });
  const redis = new Redis(cluster.auth.redisUrl);
  try {
    await redis.set(revocationKeys(silentPrefix).epoch, 'epoch-without-heartbeats');
  } finally {
    redis.disconnect();
  }
});
afterAll(async () => {
  await cluster.cleanup();
  await dropRedisPrefix(cluster.auth.redisUrl, silentPrefix);
});

it('refuses the handshake with 8001, the reason and the retry delay once the revocation lease has expired', async () => {
  const user = await cluster.user();
  await cluster.addNode({
    REDIS_PREFIX: silentPrefix,
    REVOCATION_LEASE_MS: '2000',
    REVOCATION_CLOCK_SKEW_MS: '100',
  });
  const control = cluster.connect(1, user.token);
  await control.connected();
  control.close();

  await sleep(2_500);
  const late = cluster.connect(1, user.token);
  const err = await late.connected().then(
    () => undefined,
    (e: unknown) => e as RealtimeConnectError,
  );

  expect(err).toBeInstanceOf(RealtimeConnectError);
  expect(err?.data).toEqual({
    code: 8001,
    error: 'SERVICE_UNAVAILABLE',
    detail: 'Session state is temporarily unavailable; retry shortly',
    // The same data an HTTP answer carries as `Retry-After` and body members.
    reason: 'lease-expired',
    retry_after_seconds: 1,
  });
});
