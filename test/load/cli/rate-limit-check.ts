import { z } from 'zod';
import type { HttpClient } from './http-client';

/**
 * Concord limits authenticated API requests per user (`rate_limit_max_requests` per
 * `rate_limit_time_unit`, namespace `api`, default 100 per minute). A load run offers far more
 * per pool user than that, and this tool never writes the `api` namespace, so it only reads the
 * limit and says when the run would mostly measure 429s; the operator raises the limit (a stored
 * setting or the `RATE_LIMIT_*` environment) for the test.
 */
const UNIT_SECONDS = { second: 1, minute: 60, hour: 3_600, day: 86_400 } as const;

const listing = z.object({
  items: z.array(z.object({ key: z.string(), value: z.unknown() })),
});

/** Per-user requests per second the target allows, or undefined when it does not say. */
export async function readUserRateLimit(http: HttpClient, token: string): Promise<number | undefined> {
  const answer = await http.send({ method: 'GET', path: '/api/v1/settings/api', token });
  if (answer.status !== 200) return undefined;
  const parsed = listing.safeParse(answer.body);
  if (!parsed.success) return undefined;
  const value = (key: string) => parsed.data.items.find((i) => i.key === key)?.value;
  const max = value('rate_limit_max_requests');
  const unit = value('rate_limit_time_unit');
  if (typeof max !== 'number' || typeof unit !== 'string' || !(unit in UNIT_SECONDS)) return undefined;
  return max / UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
}

/** A warning when `rate` (per second, over `users` users) exceeds what the limit lets through. */
export function rateLimitWarning(
  perUserPerSecond: number,
  users: number,
  rate: number | undefined,
): string | undefined {
  const allowed = perUserPerSecond * users;
  if (rate === undefined || rate <= allowed) return undefined;
  return (
    `the target allows ${perUserPerSecond.toFixed(2)} authenticated requests per second per user ` +
    `(rate_limit_max_requests / rate_limit_time_unit), ${allowed.toFixed(1)}/s for ${users} users, ` +
    `against ${rate}/s offered: expect 429s unless the limit is raised for the test`
  );
}
