import type { E2eStack } from './e2e-stack';

/** The status of `GET /auth/me` with `token` on every replica of `stack`, in replica order. */
export async function statusesOnEveryReplica(stack: E2eStack, token: string): Promise<number[]> {
  return Promise.all(
    stack.replicas.map(
      async (_, replica) =>
        (await stack.client({ replica }).request('GET', '/api/v1/auth/me', { token })).status,
    ),
  );
}

/**
 * Milliseconds until `check` first holds, polling every `intervalMs`; `Infinity` when it did not
 * within `maxMs`. Returned rather than thrown so a test can report the figure before it asserts.
 */
export async function msUntil(
  check: () => Promise<boolean>,
  maxMs: number,
  intervalMs = 50,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > maxMs) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
