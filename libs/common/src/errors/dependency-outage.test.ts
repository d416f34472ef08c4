import { isDependencyOutage, toAppError } from './problem';

function replyError(message: string): Error {
  // ioredis' ReplyError (redis-errors) carries the server's reply text as its message.
  return Object.assign(new Error(message), { name: 'ReplyError' });
}

function pgError(code: string): Error {
  return Object.assign(new Error('postgres said no'), { code });
}

describe('isDependencyOutage', () => {
  it.each([
    'OOM command not allowed when used memory > maxmemory.',
    "READONLY You can't write against a read only replica.",
    'LOADING Redis is loading the dataset in memory',
    'CLUSTERDOWN The cluster is down',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
  ])('when Redis is up but refuses the command (%s), answers 503', (message) => {
    const { appError, expected } = toAppError(replyError(message));

    expect(appError.status).toBe(503);
    expect(appError.code).toBe(8001);
    expect(expected).toBe(true);
  });

  it.each([
    'Too many Cluster redirections. Last error: Error: Connection is closed.',
    'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
    'Failed to refresh slots cache.',
    'None of startup nodes is available',
    "Cluster isn't ready and enableOfflineQueue options is false",
  ])('when ioredis Cluster gives up during a failover (%s), answers 503', (message) => {
    expect(toAppError(new Error(message)).appError.status).toBe(503);
  });

  it('when ioredis Cluster reports every node failed (ClusterAllFailedError), answers 503', () => {
    const err = Object.assign(new Error('Failed to refresh slots cache.'), { name: 'ClusterAllFailedError' });

    expect(isDependencyOutage(err)).toBe(true);
  });

  it('when a Redis reply is a real command error (WRONGTYPE), it is a bug, not an outage', () => {
    expect(
      isDependencyOutage(replyError('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBe(false);
  });

  it('when the OOM text arrives outside a Redis reply, it is not taken for one', () => {
    expect(isDependencyOutage(new Error('OOM command not allowed'))).toBe(false);
  });

  it.each(['53100', '53200', '53300', '25006'])(
    'when Postgres refuses for lack of resources or as a standby (%s), answers 503',
    (code) => {
      expect(toAppError(pgError(code)).appError.status).toBe(503);
    },
  );

  it('when Postgres reports a constraint violation (23505), it is not an outage', () => {
    expect(isDependencyOutage(pgError('23505'))).toBe(false);
  });
});
