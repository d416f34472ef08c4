import {
  createTransport,
  type HttpResponse,
  type RequestOptions,
  type TransportOptions,
} from './http-transport';

/** Roles of Concord users. */
export type Role = 'ceo' | 'manager' | 'member' | 'observer';

/** A session item. */
export interface SessionItem {
  session_id: string;
  user_id: string;
  username: string;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
  last_active_at: string;
  expires_at: string;
  is_current: boolean;
}

/** Login/refresh answer. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
  session: SessionItem;
}

/** RFC 9457 problem as Concord sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: number;
  error: string;
  request_id: string;
  errors?: { path: string; message: string }[];
  /**
   * On a 503 (code 8001) from a write: the change is committed and will take effect by itself (a
   * revocation reaches every replica once Redis takes writes again). Do not retry it.
   */
  committed?: boolean;
}

/** A user as the admin API shows it. */
export interface UserItem {
  id: string;
  username: string;
  role: Role;
  created_at: string;
}

/**
 * Thrown by the typed methods when the answer is not the expected success. The client never retries
 * a request by itself; a caller that retries 503s must not retry one whose {@link committed} is true.
 *
 * @example
 * try {
 *   await client.logout();
 * } catch (err) {
 *   if (err instanceof ConcordApiError && err.committed) return; // done; the revocation is on its way
 *   throw err;
 * }
 */
export class ConcordApiError extends Error {
  /** The problem says the write is committed (see {@link Problem.committed}). */
  readonly committed: boolean;

  constructor(readonly response: HttpResponse) {
    const problem = response.body as Partial<Problem>;
    super(
      `HTTP ${response.status}${problem?.error ? ` ${problem.error}` : ''}: ${problem?.detail ?? response.text}`,
    );
    this.name = 'ConcordApiError';
    this.committed = problem?.committed === true;
  }
}

/**
 * Typed Concord client over HTTP (used by tests, load scripts and users). Typed methods throw
 * {@link ConcordApiError} on unexpected statuses; `request` returns any answer as-is.
 */
export class ConcordClient {
  private readonly transport;
  /** Access token sent by the typed methods once set (login/refresh set it). */
  accessToken: string | undefined;
  refreshToken: string | undefined;

  constructor(options: TransportOptions) {
    this.transport = createTransport(options);
  }

  /** Any request; never throws for HTTP statuses. */
  request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    return this.transport.request<T>(method, path, options);
  }

  private async expect<T>(
    status: number,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const res = await this.request<T>(method, path, { token: this.accessToken, ...options });
    if (res.status !== status) throw new ConcordApiError(res);
    return res.body;
  }

  setup(username: string, password: string) {
    return this.expect<{ id: string; username: string; role: Role }>(201, 'POST', '/api/v1/auth/setup', {
      body: { username, password },
    });
  }

  async login(username: string, password: string): Promise<TokenResponse> {
    const tokens = await this.expect<TokenResponse>(200, 'POST', '/api/v1/auth/login', {
      body: { username, password },
    });
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    return tokens;
  }

  async refresh(refreshToken = this.refreshToken): Promise<TokenResponse> {
    const tokens = await this.expect<TokenResponse>(200, 'POST', '/api/v1/auth/refresh', {
      body: { refresh_token: refreshToken },
    });
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    return tokens;
  }

  me() {
    return this.expect<{ id: string; username: string; role: Role; session_id: string }>(
      200,
      'GET',
      '/api/v1/auth/me',
    );
  }

  async logout(scope: 'local' | 'others' | 'global' = 'local'): Promise<void> {
    await this.expect(204, 'POST', `/api/v1/auth/logout?scope=${scope}`);
  }

  async changePassword(current: string, next: string): Promise<void> {
    await this.expect(204, 'POST', '/api/v1/auth/password', {
      body: { current_password: current, new_password: next },
    });
  }

  sessions(scope: 'own' | 'all' = 'own', query = '') {
    return this.expect<{ items: SessionItem[]; next_cursor: string | null }>(
      200,
      'GET',
      `/api/v1/auth/sessions?scope=${scope}${query ? `&${query}` : ''}`,
    );
  }

  async revokeSession(id: string): Promise<void> {
    await this.expect(204, 'DELETE', `/api/v1/auth/sessions/${encodeURIComponent(id)}`);
  }

  revokeSessions(scope: 'others' | 'all') {
    return this.expect<{ revoked: number }>(200, 'DELETE', `/api/v1/auth/sessions?scope=${scope}`);
  }

  async revokeToken(token: string, hint?: 'access_token' | 'refresh_token'): Promise<void> {
    await this.expect(200, 'POST', '/api/v1/auth/revoke', { body: { token, token_type_hint: hint } });
  }

  createUser(username: string, password: string, role: Role) {
    return this.expect<UserItem>(201, 'POST', '/api/v1/users', { body: { username, password, role } });
  }

  listUsers(query = '') {
    return this.expect<{ items: UserItem[]; next_cursor: string | null }>(
      200,
      'GET',
      `/api/v1/users${query ? `?${query}` : ''}`,
    );
  }

  changeRole(id: string, role: Role) {
    return this.expect<UserItem>(200, 'PATCH', `/api/v1/users/${encodeURIComponent(id)}`, { body: { role } });
  }

  revokeUserSessions(id: string) {
    return this.expect<{ revoked: number }>(
      200,
      'DELETE',
      `/api/v1/users/${encodeURIComponent(id)}/sessions`,
    );
  }

  jwks() {
    return this.expect<{ keys: Record<string, string>[] }>(200, 'GET', '/.well-known/jwks.json');
  }

  /** Closes pooled connections. */
  close(): void {
    this.transport.close();
  }
}
