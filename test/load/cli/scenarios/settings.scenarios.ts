import { RunError } from '../user-pool';
import {
  loginAll,
  sinceIntended,
  type ScenarioContext,
  type ScenarioDefinition,
  type PreparedScenario,
} from '../scenario';

/**
 * Compare-and-swap on `bench` settings (the only namespace load may write): each iteration reads a
 * key (ETag), writes value + 1 with `If-Match`, and counts 412 as a conflict, not an error. Every
 * key is new to the run and starts at 0, so at the end its value must equal the number of writes
 * that answered 200; fewer is a lost update (two writers both succeeding on one revision), which is
 * an error. More is possible only when a write timed out after committing, and is reported apart.
 */
async function prepareCas(ctx: ScenarioContext, keyCount: number, label: string): Promise<PreparedScenario> {
  const keys = Array.from({ length: keyCount }, (_, i) => `load_${ctx.runId}_${label}_${i}`);
  const writers = await ctx.pool.users('manager', ctx.options.users);
  const sessions = await loginAll(ctx, writers);
  const path = (key: string) => `/api/v1/settings/bench/${key}`;

  const probe = await ctx.http.send({ method: 'GET', path: path(keys[0]!), token: sessions[0]!.token });
  if (probe.status === 404) {
    throw new RunError(
      'the target has no bench settings namespace: start it with SETTINGS_BENCH_NAMESPACE=true',
    );
  }
  if (probe.status !== 200) throw new RunError(`GET ${path(keys[0]!)} answered ${probe.status}`);

  const committed = new Map<string, number>(keys.map((k) => [k, 0]));
  return {
    apiUsers: sessions.length,
    notes: [
      `${sessions.length} manager sessions write ${keys.length} bench key(s) named load_${ctx.runId}_${label}_*`,
      'an iteration is GET (ETag) then PUT value+1 with If-Match; 412 counts as a conflict, not an error',
    ],
    async iteration(it) {
      const session = sessions[it.n % sessions.length]!;
      const key = keys[it.n % keys.length]!;
      const token = await session.fresh();
      const read = await ctx.call(
        'settings-get',
        sinceIntended(it, ctx.now()),
        { method: 'GET', path: path(key), token, source: session.source },
        [200],
      );
      if (read?.status !== 200) return;
      const etag = read.headers.etag;
      const value = (read.body as { value?: unknown }).value;
      if (typeof etag !== 'string' || typeof value !== 'number') {
        ctx.recorder.error('settings-get: answer without ETag or integer value');
        return;
      }
      const write = await ctx.call(
        'settings-put',
        ctx.now(),
        {
          method: 'PUT',
          path: path(key),
          token,
          source: session.source,
          headers: { 'if-match': etag },
          body: { value: value + 1 },
        },
        [200, 412],
      );
      if (write?.status === 200) committed.set(key, committed.get(key)! + 1);
      else if (write?.status === 412) ctx.recorder.count('conflicts (412)');
    },
    async finish() {
      let lost = 0;
      let extra = 0;
      const token = await sessions[0]!.fresh();
      for (const key of keys) {
        const answer = await ctx.http.send({ method: 'GET', path: path(key), token });
        if (answer.status !== 200) {
          ctx.recorder.error(`final read of ${key}: http ${answer.status}`);
          continue;
        }
        const final = (answer.body as { value: number }).value;
        const writes = committed.get(key)!;
        if (final < writes) lost += writes - final;
        if (final > writes) extra += final - writes;
      }
      ctx.recorder.count(
        'writes committed',
        [...committed.values()].reduce((a, b) => a + b, 0),
      );
      ctx.recorder.count('lost updates', lost);
      if (lost > 0) ctx.recorder.error('lost updates (final value below the 200 answers)', lost);
      if (extra > 0) ctx.recorder.count('writes committed without a 200 (timed out)', extra);
    },
    async teardown() {
      const token = await sessions[0]!.fresh();
      // Reset to the default: the rows stay as tombstones (ETags are never reused), values go.
      for (const key of keys) {
        await ctx.http.send({ method: 'DELETE', path: path(key), token, headers: { 'if-match': '*' } });
      }
      await ctx.pool.revokeSessions(writers);
    },
  };
}

/** CAS spread over `--keys` bench keys. */
export const settingsCas: ScenarioDefinition = {
  name: 'settings-cas',
  summary: 'GET + PUT If-Match on --keys bench keys; counts 412s and lost updates',
  prepare: (ctx) => prepareCas(ctx, ctx.options.keys, 'spread'),
};

/** CAS on one hot bench key: every writer contends. */
export const settingsHot: ScenarioDefinition = {
  name: 'settings-hot',
  summary: 'GET + PUT If-Match by every user on one hot bench key; counts 412s and lost updates',
  prepare: (ctx) => prepareCas(ctx, 1, 'hot'),
};
