import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { jwksProvider, parseServiceList, readServiceList, type ServiceManifest } from './service-list';

/** A minimal valid `concord` field; tests change one member at a time. */
function concord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    upstream: 'demo',
    replicas: 2,
    ports: { http: 4901, metrics: 9901 },
    gateway: { routes: [{ path: '/api/v1/demo/', match: 'prefix' }] },
    k8s: {
      resources: { cpu: '100m', memory: '64Mi', memoryLimit: '128Mi' },
      autoscaling: { minReplicas: 2, maxReplicas: 4, cpuUtilization: 70 },
      production: { replicas: 3, minReplicas: 3, maxReplicas: 6 },
    },
    ...overrides,
  };
}

function manifest(name: string, field: Record<string, unknown> | undefined): ServiceManifest {
  return { name, packageJson: { name: `@concord/${name}`, concord: field } };
}

const provider = manifest(
  'keys-service',
  concord({
    upstream: 'keys',
    jwks: 'provider',
    ports: { http: 4801, internal: 4811, metrics: 9801 },
    gateway: { routes: [{ path: '/api/v1/keys/', match: 'prefix' }] },
  }),
);

describe('the repository’s service list', () => {
  it('lists the three services with the ports of DESIGN.md section 2', () => {
    const services = readServiceList();

    expect(services.map((s) => [s.name, s.replicas, s.ports])).toEqual([
      ['auth-service', 2, { http: 4101, internal: 4111, metrics: 9101 }],
      ['realtime-service', 2, { http: 4301, metrics: 9301 }],
      ['settings-service', 2, { http: 4201, metrics: 9201 }],
    ]);
  });

  it('names auth-service as the one JWKS provider, and the other two as its consumers', () => {
    const services = readServiceList();

    expect(jwksProvider(services).name).toBe('auth-service');
    expect(services.filter((s) => s.jwks === 'consumer').map((s) => s.name)).toEqual([
      'realtime-service',
      'settings-service',
    ]);
  });

  it('is frozen, so no consumer can change what the others see', () => {
    const [first] = readServiceList();

    expect(() => {
      (first!.ports as { http: number }).http = 1;
    }).toThrow(TypeError);
  });
});

describe('adding a service', () => {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'concord-service-list-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function addFolder(name: string, packageJson: unknown): void {
    mkdirSync(path.join(root, 'services', name), { recursive: true });
    writeFileSync(path.join(root, 'services', name, 'package.json'), JSON.stringify(packageJson));
  }

  it('when a folder with a concord field appears under services/, the list has it', () => {
    addFolder('demo-service', { name: '@concord/demo-service', concord: concord() });

    const services = readServiceList(root);

    expect(services.map((s) => [s.name, s.packageName, s.main])).toEqual([
      ['demo-service', '@concord/demo-service', 'services/demo-service/dist/main.js'],
    ]);
  });

  it('when a service folder has no concord field, refuses the list naming the file', () => {
    addFolder('demo-service', { name: '@concord/demo-service' });

    expect(() => readServiceList(root)).toThrow(/services\/demo-service\/package.json: no "concord" field/);
  });
});

describe('list validation', () => {
  it('fills the documented defaults of optional members', () => {
    const [s] = parseServiceList([manifest('demo-service', concord())]);

    expect([s?.secrets, s?.env, s?.localEnv, s?.gateway.websocket, s?.gateway.affinity]).toEqual([
      [],
      {},
      {},
      false,
      'none',
    ]);
    expect(s?.gateway.readTimeoutSeconds).toBe(30);
  });

  it('when two services claim one local port (a base plus its replicas), refuses the list', () => {
    const a = manifest('a-service', concord({ upstream: 'a', ports: { http: 4901, metrics: 9901 } }));
    const b = manifest(
      'b-service',
      concord({
        upstream: 'b',
        ports: { http: 4902, metrics: 9951 },
        gateway: { routes: [{ path: '/b/', match: 'prefix' }] },
      }),
    );

    expect(() => parseServiceList([a, b])).toThrow(/port 4902 is also a-service http/);
  });

  it('when two services route the same path, refuses the list', () => {
    const a = manifest('a-service', concord({ upstream: 'a' }));
    const b = manifest('b-service', concord({ upstream: 'b', ports: { http: 4911, metrics: 9911 } }));

    expect(() => parseServiceList([a, b])).toThrow(/prefix \/api\/v1\/demo\/ is also a-service's/);
  });

  it('when a prefix route does not end with a slash (it would also match /api/v1/demoX), refuses it', () => {
    const s = manifest(
      'demo-service',
      concord({ gateway: { routes: [{ path: '/api/v1/demo', match: 'prefix' }] } }),
    );

    expect(() => parseServiceList([s])).toThrow(/must end with "\/"/);
  });

  it('when a route path carries characters that could break an nginx location, refuses it', () => {
    const s = manifest(
      'demo-service',
      concord({ gateway: { routes: [{ path: '/x; return 200 ok;', match: 'exact' }] } }),
    );

    expect(() => parseServiceList([s])).toThrow(/concord.gateway.routes.0.path/);
  });

  it('when a consumer exists but no provider does, refuses the list', () => {
    const s = manifest('demo-service', concord({ jwks: 'consumer' }));

    expect(() => parseServiceList([s])).toThrow(
      /exactly one service must have "jwks": "provider" \(found 0\)/,
    );
  });

  it('when the JWKS provider has no internal listener, refuses the list', () => {
    const s = manifest('demo-service', concord({ jwks: 'provider' }));

    expect(() => parseServiceList([s])).toThrow(/the JWKS provider needs an internal listener/);
  });

  it('accepts one provider and its consumers', () => {
    const consumer = manifest('demo-service', concord({ jwks: 'consumer' }));

    expect(parseServiceList([provider, consumer]).map((s) => s.jwks)).toEqual(['consumer', 'provider']);
  });

  it.each(['PORT', 'TRUSTED_PROXIES', 'JWKS_URL'])(
    'when a service’s env sets %s, which the topology owns, refuses it',
    (name) => {
      const s = manifest('demo-service', concord({ env: { [name]: 'x' } }));

      expect(() => parseServiceList([s])).toThrow(/the topology sets/);
    },
  );

  it('when a credential endpoint lies outside the service’s routes, refuses it', () => {
    const s = manifest(
      'demo-service',
      concord({
        gateway: {
          routes: [{ path: '/api/v1/demo/', match: 'prefix' }],
          credentialEndpoints: ['/api/v1/other/login'],
        },
      }),
    );

    expect(() => parseServiceList([s])).toThrow(/\/api\/v1\/other\/login is outside the service's routes/);
  });

  it('when a member is misspelt, refuses it instead of ignoring it', () => {
    const s = manifest('demo-service', concord({ replica: 2 }));

    expect(() => parseServiceList([s])).toThrow(/services\/demo-service\/package.json: concord\.:/);
  });

  it('names every problem at once', () => {
    const s = manifest('demo-service', concord({ replicas: 0, upstream: 'Bad' }));

    let message = '';
    try {
      parseServiceList([s]);
    } catch (err) {
      message = (err as Error).message;
    }

    expect(message).toMatch(/concord\.upstream/);
    expect(message).toMatch(/concord\.replicas/);
  });
});
