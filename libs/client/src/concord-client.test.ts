import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConcordApiError, ConcordClient } from './concord-client';

/** A server that answers every request with one fixed problem and counts the requests. */
async function problemServer(status: number, problem: Record<string, unknown>) {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(status, { 'content-type': 'application/problem+json', 'retry-after': '1' });
    res.end(JSON.stringify(problem));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const committed503 = {
  type: 'urn:concord:error:service-unavailable',
  status: 503,
  code: 8001,
  error: 'SERVICE_UNAVAILABLE',
  detail: 'The revocation is committed',
  committed: true,
};

describe('ConcordClient and a committed 503', () => {
  it('sends the request once, never again, and reports it as committed', async () => {
    const server = await problemServer(503, committed503);
    const client = new ConcordClient({ baseUrl: server.url });
    try {
      client.accessToken = 'token';

      const err = await client.revokeSession('5b0c6c8e-7f43-4b53-9a59-2f1a7f1b2c3d').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200)); // room for a retry that must not come

      expect(err).toBeInstanceOf(ConcordApiError);
      expect((err as ConcordApiError).committed).toBe(true);
      expect((err as ConcordApiError).response.status).toBe(503);
      expect(server.requests()).toBe(1);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('reports a plain 503 as not committed', async () => {
    const server = await problemServer(503, { ...committed503, committed: undefined });
    const client = new ConcordClient({ baseUrl: server.url });
    try {
      const err = await client.logout().catch((e: unknown) => e);

      expect((err as ConcordApiError).committed).toBe(false);
      expect(server.requests()).toBe(1);
    } finally {
      client.close();
      await server.close();
    }
  });
});
