import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A process's Prometheus registry plus the HTTP instruments every service records. */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** A gauge read at scrape time. */
  gauge(name: string, help: string, collect: () => number): Gauge;
  /** A labelled counter, e.g. throttle rejections by budget. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L>;
  /**
   * One series per state under `label`, read at scrape time: 1 for the current state, 0 for the
   * others (an OpenMetrics StateSet), e.g. the revocation cache's health reason.
   */
  stateGauge<S extends string>(
    name: string,
    help: string,
    label: string,
    states: readonly S[],
    current: () => S,
  ): Gauge<string>;
}

/** Creates the registry (default process metrics included) labelled with service and replica. */
export function createMetrics(service: string, replica: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service, replica });
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'concord_http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    registry,
    httpDuration,
    gauge(name, help, collect) {
      return new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(collect());
        },
      });
    },
    counter(name, help, labelNames) {
      return new Counter({ name, help, labelNames, registers: [registry] });
    },
    stateGauge(name, help, label, states, current) {
      return new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          const now = current();
          for (const state of states) this.set({ [label]: state }, state === now ? 1 : 0);
        },
      });
    },
  };
}

/** Serves `/metrics` on its own port (never routed by nginx). */
export function createMetricsServer(registry: Registry): http.Server {
  return http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
}
