import { AppError, createLogger, type Clock } from '@concord/common';
import type {
  RevocationAckOutcome,
  RevocationCommit,
  RevocationOutbox,
  RevocationPublisher,
  SessionRepository,
} from './auth.ports';
import { createSessionRevoker } from './session-revoker';

const clock: Clock = { now: () => 1_700_000_000_000, monotonic: () => 0 };
const logger = createLogger({ level: 'silent', service: 'test', replicaId: 'revoker-test' });

const commit: RevocationCommit = {
  entries: [{ sid: 'sid-1', exp: 1_700_000_900 }],
  newlyRevoked: 1,
  outboxIds: ['41'],
  reason: 'logout',
};

function fakes(sendResult: 'ok' | 'fails') {
  const events: string[] = [];
  let acknowledge!: (outcome: RevocationAckOutcome) => void;
  const publisher: RevocationPublisher = {
    async send() {
      events.push('send');
      if (sendResult === 'fails') throw new Error("OOM command not allowed when used memory > 'maxmemory'.");
      return { acknowledged: new Promise((resolve) => (acknowledge = resolve)) };
    },
    deliver: async () => undefined,
  };
  const outbox: RevocationOutbox = {
    async markDelivered(ids) {
      events.push(`markDelivered:${ids.join(',')}`);
    },
    deliverLater: () => events.push('deliverLater'),
  };
  const sessions = { revoke: async () => commit } as unknown as SessionRepository;
  const revoker = createSessionRevoker({ sessions, publisher, outbox, clock, logger });
  return { revoker, events, acknowledge: (o: RevocationAckOutcome) => acknowledge(o) };
}

describe('session revoker', () => {
  it('when the publish fails, answers 503 (8001) with committed: true and leaves the row to the relay', async () => {
    const { revoker, events } = fakes('fails');

    const err = await revoker.revoke(['sid-1'], 'logout').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AppError);
    expect({ code: (err as AppError).code, status: (err as AppError).status }).toEqual({
      code: 8001,
      status: 503,
    });
    expect((err as AppError).data).toEqual({ committed: true, retryAfterSeconds: 1 });
    expect(events).toEqual(['send', 'deliverLater']);
  });

  it('marks the outbox row delivered once published, before it waits for the acknowledgements', async () => {
    const { revoker, events, acknowledge } = fakes('ok');

    const revoked = revoker.revoke(['sid-1'], 'logout');
    await new Promise((r) => setImmediate(r));
    const beforeAcks = [...events];
    acknowledge({ by: 'acks', missing: [], youngRegistry: false, waitedMs: 3 });

    expect(await revoked).toBe(1);
    expect(beforeAcks).toEqual(['send', 'markDelivered:41']);
  });

  it('publishes nothing and answers 0 when no session was targeted', async () => {
    const { revoker, events } = fakes('ok');

    expect(await revoker.propagate({ entries: [], newlyRevoked: 0, outboxIds: [] })).toBe(0);
    expect(events).toEqual([]);
  });
});
