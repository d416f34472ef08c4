import { revocationKeys } from '@concord/common';
import { Redis } from 'ioredis';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from './support/e2e-stack';

let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack({ authReplicas: 1, gateway: false });
  await stack.client({ replica: 0 }).setup('drain.ceo', PASSWORD);
});
afterAll(async () => {
  await stack.cleanup();
});

describe('SIGTERM', () => {
  it('drains in-flight requests, deregisters from the revocation registry and exits 0', async () => {
    const replica = stack.replicas[0]!;
    const redis = new Redis(stack.redisUrl);
    try {
      expect(await redis.zscore(revocationKeys(stack.prefix).replicas, replica.id)).not.toBeNull();
      // Logins take tens of milliseconds (argon2id): several are in flight when the signal lands.
      const inFlight = Array.from({ length: 4 }, () =>
        stack
          .client({ replica: 0 })
          .request('POST', '/api/v1/auth/login', { body: { username: 'drain.ceo', password: PASSWORD } }),
      );
      await new Promise((r) => setTimeout(r, 15));
      const exited = new Promise<number | null>((resolve) =>
        replica.process.child.once('exit', (code) => resolve(code)),
      );

      replica.process.child.kill('SIGTERM');
      const results = await Promise.all(inFlight);
      const code = await exited;

      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(code).toBe(0);
      expect(await redis.zscore(revocationKeys(stack.prefix).replicas, replica.id)).toBeNull();
      await expect(fetch(`${replica.url}/healthz`)).rejects.toThrow();
    } finally {
      redis.disconnect();
    }
  });
});
