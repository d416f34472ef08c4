import { randomBytes } from 'node:crypto';
import type { ConcordClient } from '@concord/client';
import { PASSWORD } from '../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eStack } from './support/e2e-stack';
import { runHotKey } from './support/hot-key-run';

const CLIENTS = 8;
const INCREMENTS_PER_CLIENT = 50;

let stack: E2eStack;
let token: string;

beforeAll(async () => {
  stack = await startE2eStack({ authReplicas: 1, settingsReplicas: 2 });
  const admin = stack.client({ localAddress: '127.0.0.40' });
  await admin.setup('hotkey.ceo', PASSWORD);
  await admin.login('hotkey.ceo', PASSWORD);
  await admin.createUser('hotkey.manager', PASSWORD, 'manager');
  token = (await stack.client({ localAddress: '127.0.0.41' }).login('hotkey.manager', PASSWORD)).access_token;
}, 120_000);
afterAll(async () => {
  await stack?.cleanup();
});

/** One client per writer, each from its own loopback address, all through nginx. */
function writers(): ConcordClient[] {
  return Array.from({ length: CLIENTS }, (_, i) => stack.client({ localAddress: `127.0.0.${50 + i}` }));
}

async function finalValue(path: string): Promise<number> {
  const res = await stack
    .client({ localAddress: '127.0.0.42' })
    .request<{ value: number }>('GET', path, { token });
  expect(res.status).toBe(200);
  return res.body.value;
}

async function historyRequestIds(key: string): Promise<string[]> {
  const { Pool } = await import('pg');
  const pool = new Pool({ connectionString: stack.db.url, max: 1 });
  try {
    const { rows } = await pool.query<{ request_id: string }>(
      "SELECT request_id FROM settings_history WHERE namespace = 'bench' AND key = $1",
      [key],
    );
    return rows.map((r) => r.request_id);
  } finally {
    await pool.end();
  }
}

describe('a hot key through nginx over two settings replicas', () => {
  it('8 clients x 50 read-modify-write increments: the final value is the number of 200s', async () => {
    const key = `hot_${randomBytes(4).toString('hex')}`;
    const path = `/api/v1/settings/bench/${key}`;

    const outcome = await runHotKey({ clients: writers(), token, path, increments: INCREMENTS_PER_CLIENT });

    expect(outcome.unexpected).toEqual([]);
    expect(outcome.lost).toEqual([]);
    expect(outcome.granted).toHaveLength(CLIENTS * INCREMENTS_PER_CLIENT);
    expect(outcome.conflicts).toBeGreaterThan(0);
    expect(await finalValue(path)).toBe(outcome.granted.length);
  }, 300_000);

  it('with one replica SIGKILLed mid-run: final value = 200s + the lost writes found in the history, no request id twice', async () => {
    const key = `hot_kill_${randomBytes(4).toString('hex')}`;
    const path = `/api/v1/settings/bench/${key}`;
    const victim = stack.settings[1]!;
    let killed = false;

    const outcome = await runHotKey({
      clients: writers(),
      token,
      path,
      increments: INCREMENTS_PER_CLIENT,
      onGranted: (total) => {
        if (!killed && total >= (CLIENTS * INCREMENTS_PER_CLIENT) / 4) {
          killed = true;
          victim.process.child.kill('SIGKILL');
        }
      },
    });
    const history = await historyRequestIds(key);
    const recorded = new Set(history);
    const lostButCommitted = outcome.lost.filter((w) => recorded.has(w.requestId));

    expect(killed).toBe(true);
    expect(outcome.unexpected).toEqual([]);
    expect(await finalValue(path)).toBe(outcome.granted.length + lostButCommitted.length);
    expect(history.length).toBe(recorded.size);
    expect(history).toHaveLength(outcome.granted.length + lostButCommitted.length);
  }, 300_000);
});
