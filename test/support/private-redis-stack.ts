import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from './e2e-stack';
import { startPrivateRedis, type PrivateRedis } from './private-redis';

/** Two auth replica processes (no gateway) on a private redis-server the test may break. */
export interface PrivateRedisStack {
  redis: PrivateRedis;
  stack: E2eStack;
  cleanup(): Promise<void>;
}

/**
 * Starts a private Redis and two auth replicas on it with `REVOCATION_LEASE_MS = leaseMs`, and
 * creates the first ceo `ceo` (password {@link PASSWORD}). For the destructive Redis cases
 * (restart, out of memory, FLUSHALL), which must never touch the shared Redis.
 */
export async function startPrivateRedisStack(options: {
  leaseMs: number;
  ceo: string;
}): Promise<PrivateRedisStack> {
  const redis = await startPrivateRedis();
  let stack: E2eStack;
  try {
    stack = await startE2eStack({
      authReplicas: 2,
      redisUrl: redis.url,
      gateway: false,
      env: { REVOCATION_LEASE_MS: String(options.leaseMs) },
    });
  } catch (err) {
    await redis.cleanup();
    throw err;
  }
  const cleanup = async () => {
    try {
      await stack.cleanup();
    } finally {
      await redis.cleanup();
    }
  };
  try {
    await stack.client({ replica: 0 }).setup(options.ceo, PASSWORD);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { redis, stack, cleanup };
}
