import { randomBytes } from 'node:crypto';
import type { Role } from '@concord/client';
import { PASSWORD } from '../../services/auth-service/test/support/auth-harness';
import { startE2eStack, type E2eOptions, type E2eStack } from './e2e-stack';
import { gatewayHttp, type GatewayHttp, type HttpVersion } from './gateway-http';

/**
 * The full local topology on free ports (DESIGN.md section 2): two replicas of each service as
 * processes from the build, a private nginx in front, private database and Redis prefix.
 */
export function startFullStack(
  options: Pick<E2eOptions, 'settingsEnv' | 'realtimeEnv'> = {},
): Promise<E2eStack> {
  return startE2eStack({ authReplicas: 2, settingsReplicas: 2, realtimeReplicas: 2, ...options });
}

/** A user of a test (made by the ceo through the gateway) and the HTTP client it logged in with. */
export interface FlowUser {
  id: string;
  username: string;
  role: Role;
  token: string;
  sessionId: string;
  http: GatewayHttp;
}

/** Gateway clients of a test file, closed together. */
export interface GatewayClients {
  open(version: HttpVersion, localAddress: string): GatewayHttp;
  closeAll(): Promise<void>;
}

/** Tracks the gateway clients `stack` hands out so `closeAll` (afterEach) closes every one. */
export function gatewayClients(stack: () => E2eStack): GatewayClients {
  const clients: GatewayHttp[] = [];
  return {
    open(version, localAddress) {
      const s = stack();
      const client = gatewayHttp({ url: s.gatewayUrl, ca: s.caCert, version, localAddress });
      clients.push(client);
      return client;
    },
    async closeAll() {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    },
  };
}

/** Logs `username` in through `http`; throws unless 200. */
export async function loginThrough(
  http: GatewayHttp,
  username: string,
): Promise<{ token: string; sessionId: string }> {
  const res = await http.request<{ access_token: string; session: { session_id: string } }>(
    'POST',
    '/api/v1/auth/login',
    { body: { username, password: PASSWORD } },
  );
  if (res.status !== 200) throw new Error(`login of ${username} answered ${res.status}: ${res.text}`);
  return { token: res.body.access_token, sessionId: res.body.session.session_id };
}

/** The ceo creates a `role` user with a fresh name, who then logs in through `http`. */
export async function newUser(
  ceo: GatewayHttp & { token: string },
  role: Role,
  http: GatewayHttp,
): Promise<FlowUser> {
  const username = `${role}.${randomBytes(5).toString('hex')}`;
  const created = await ceo.request<{ id: string }>('POST', '/api/v1/users', {
    token: ceo.token,
    body: { username, password: PASSWORD, role },
  });
  if (created.status !== 201)
    throw new Error(`creating ${username} answered ${created.status}: ${created.text}`);
  return { id: created.body.id, username, role, ...(await loginThrough(http, username)), http };
}

/** First-user setup through the gateway (`clients`' h2 client from `localAddress`), then the ceo's login. */
export async function setupCeo(
  clients: GatewayClients,
  username: string,
  localAddress: string,
): Promise<GatewayHttp & { token: string }> {
  const http = clients.open('h2', localAddress);
  const setup = await http.request('POST', '/api/v1/auth/setup', { body: { username, password: PASSWORD } });
  if (setup.status !== 201) throw new Error(`setup answered ${setup.status}: ${setup.text}`);
  return Object.assign(http, { token: (await loginThrough(http, username)).token });
}
