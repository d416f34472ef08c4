import { createLogger } from '@concord/common';
import { guardShardedSubscriptions } from './subscription-guard';

describe('guardShardedSubscriptions', () => {
  it('when SSUBSCRIBE or SUNSUBSCRIBE rejects (a shard failing over), resolves and logs instead', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      service: 'test',
      replicaId: 'guard',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const failing = () =>
      Promise.reject(new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'));
    const client = { ssubscribe: failing, sunsubscribe: failing };

    guardShardedSubscriptions(client, logger);

    await expect(client.ssubscribe()).resolves.toBeUndefined();
    await expect(client.sunsubscribe()).resolves.toBeUndefined();
    expect(lines.map((l) => JSON.parse(l).command)).toEqual(['ssubscribe', 'sunsubscribe']);
  });

  it('passes a successful reply through', async () => {
    const client = { ssubscribe: async () => 1, sunsubscribe: async () => 0 };
    guardShardedSubscriptions(client, createLogger({ level: 'silent', service: 'test', replicaId: 'guard' }));

    await expect(client.ssubscribe()).resolves.toBe(1);
  });
});
