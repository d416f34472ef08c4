// The path-spelling attack on the gateway's credential limits (DESIGN.md section 2, "Paths are
// exact"): nginx picks a location from the normalised URI but proxies the original one, so every
// spelling that reaches a credential handler must meet the same limit as the canonical path, or be
// answered 404. Real auth replicas behind the real nginx, over HTTP/1.1 and HTTP/2.
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { startE2eStack, type E2eStack } from './support/e2e-stack';

/** Requests per burst: well above the limit's burst, so a limit that applies is visible. */
const BURST = 50;
/** One token per 10 s: no token refills while a burst is in flight, so counts are exact. */
const LIMIT = { rate: '6r/m', burst: 30 };
const ENDPOINTS = ['login', 'refresh', 'password', 'revoke'] as const;
type Endpoint = (typeof ENDPOINTS)[number];
type Protocol = 'HTTP/1.1' | 'HTTP/2';

interface Attempt {
  method: string;
  path: string;
}

/** How one burst was answered. */
interface Outcome {
  /** Answers other than 429: requests the gateway let through. */
  passed: number;
  /** Answers from a service route (a replica answered, and not with 404/405). */
  handled: number;
  statuses: Record<number, number>;
}

/** The spellings of the finding, for every credential endpoint. */
function spellings(name: Endpoint): string[] {
  const capital = name[0]!.toUpperCase() + name.slice(1);
  const encodedFirst = `%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}`;
  return [
    `/api/v1/auth/${capital}`,
    `/api/v1/auth/${name}/`,
    `/api/v1/auth//${name}`,
    `/api/v1/auth/./${name}`,
    `/api/v1/auth/${encodedFirst}`,
    `/api/v1/auth/${name};x`,
  ];
}

/** More spellings of the login path that parsers are known to read differently. */
const MORE_LOGIN_SPELLINGS: readonly Attempt[] = [
  ...[
    '/api/v1/auth/LOGIN',
    '/api/v1/auth/login?x=1',
    '/api/v1/auth%2Flogin',
    '/api/v1/auth/login%2F',
    '/api/v1/auth/login%2f',
    '/api/v1/auth/x/../login',
    '/api/v1/auth/login/.',
    '/api/v1/auth/login#x',
    '/api/v1/auth/login#/../x',
    '/api/v1/auth/login\\',
    '/api/v1/auth/login\\#',
    '/api/v1/auth/login%20',
    '/api/v1/auth/login\u00a0',
    '/api/v1//auth/login',
    '/api/v1/auth/login/..%2Flogin',
  ].map((path) => ({ method: 'POST', path })),
  { method: 'HEAD', path: '/api/v1/auth/login' },
  { method: 'GET', path: '/api/v1/auth/login' },
];

let stack: E2eStack;
let ca: string;
let nextAddress = 0;

/** A fresh client address per burst, so no burst shares a budget with another. */
function freshAddress(): string {
  nextAddress += 1;
  return `127.1.${Math.floor(nextAddress / 250)}.${(nextAddress % 250) + 1}`;
}

function tally(answers: Array<{ status: number; replica: boolean }>): Outcome {
  const statuses: Record<number, number> = {};
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  return {
    passed: answers.filter((a) => a.status !== 429).length,
    handled: answers.filter((a) => a.replica && a.status !== 404 && a.status !== 405).length,
    statuses,
  };
}

/** Sends the burst over HTTP/1.1, raw paths exactly as written (no client-side normalisation). */
async function burstHttp1(attempt: Attempt, localAddress: string): Promise<Outcome> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 10, localAddress, ca });
  const port = Number(new URL(stack.gatewayUrl).port);
  try {
    const answers = await Promise.all(
      Array.from(
        { length: BURST },
        () =>
          new Promise<{ status: number; replica: boolean }>((resolve, reject) => {
            const body = attempt.method === 'POST' ? '{}' : undefined;
            const req = https.request(
              {
                host: '127.0.0.1',
                port,
                servername: 'localhost',
                method: attempt.method,
                path: attempt.path,
                agent,
                headers: {
                  host: 'localhost',
                  ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
                },
              },
              (res) => {
                res.resume();
                res.on('end', () =>
                  resolve({
                    status: res.statusCode ?? 0,
                    replica: res.headers['x-concord-replica'] !== undefined,
                  }),
                );
                res.on('error', reject);
              },
            );
            req.on('error', reject);
            req.end(body);
          }),
      ),
    );
    return tally(answers);
  } finally {
    agent.destroy();
  }
}

/** Sends the burst as concurrent streams of one HTTP/2 connection. */
async function burstHttp2(attempt: Attempt, localAddress: string): Promise<Outcome> {
  const session = http2.connect(stack.gatewayUrl, { ca, localAddress } as http2.SecureClientSessionOptions);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    const answers = await Promise.all(
      Array.from(
        { length: BURST },
        () =>
          new Promise<{ status: number; replica: boolean }>((resolve, reject) => {
            const post = attempt.method === 'POST';
            const stream = session.request(
              {
                ':method': attempt.method,
                ':path': attempt.path,
                ...(post ? { 'content-type': 'application/json' } : {}),
              },
              { endStream: !post },
            );
            stream.once('response', (headers) => {
              stream.resume();
              stream.once('end', () =>
                resolve({
                  status: Number(headers[':status']),
                  replica: headers['x-concord-replica'] !== undefined,
                }),
              );
            });
            stream.once('error', reject);
            if (post) stream.end('{}');
          }),
      ),
    );
    return tally(answers);
  } finally {
    session.close();
  }
}

function burst(protocol: Protocol, attempt: Attempt): Promise<Outcome> {
  const address = freshAddress();
  return protocol === 'HTTP/2' ? burstHttp2(attempt, address) : burstHttp1(attempt, address);
}

/**
 * The verdict the test asserts, carrying the figures when it fails: a spelling is fine when no
 * answer came from a service route, or when exactly as many got through as on the canonical path.
 */
function verdict(spelling: Outcome, canonical: Outcome): string {
  if (spelling.handled === 0 || spelling.passed === canonical.passed)
    return '404 or limited like the canonical path';
  return (
    `reached the handler ${spelling.handled} times: ${spelling.passed} answers vs ${canonical.passed} ` +
    `for the canonical path (statuses ${JSON.stringify(spelling.statuses)})`
  );
}

beforeAll(async () => {
  stack = await startE2eStack({ authReplicas: 2, credentialLimit: LIMIT });
  ca = stack.caCert.toString('utf8');
});
afterAll(async () => {
  await stack.cleanup();
});

describe.each<Protocol>(['HTTP/1.1', 'HTTP/2'])('credential limits over %s', (protocol) => {
  describe.each(ENDPOINTS)('POST /api/v1/auth/%s', (name) => {
    const canonicalPath = `/api/v1/auth/${name}`;
    let canonical: Outcome;

    beforeAll(async () => {
      canonical = await burst(protocol, { method: 'POST', path: canonicalPath });
    });

    it('when a burst exceeds the limit on the canonical path, answers the excess with 429', () => {
      expect(canonical.passed).toBeLessThan(BURST);
      expect(canonical.handled).toBe(canonical.passed);
    });

    it.each(spellings(name))(
      'when the path is spelled %s, answers 404 or limits it like the canonical path',
      async (path) => {
        const outcome = await burst(protocol, { method: 'POST', path });

        expect(verdict(outcome, canonical)).toBe('404 or limited like the canonical path');
      },
    );

    if (name === 'login') {
      it.each(MORE_LOGIN_SPELLINGS.map((a) => [`${a.method} ${JSON.stringify(a.path)}`, a] as const))(
        'when the request is %s, answers 404 or limits it like the canonical path',
        async (_label, attempt) => {
          const outcome = await burst(protocol, attempt);

          expect(verdict(outcome, canonical)).toBe('404 or limited like the canonical path');
        },
      );
    }
  });
});
