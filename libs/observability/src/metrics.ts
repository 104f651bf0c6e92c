import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  httpRequestDuration: Histogram<'route' | 'method' | 'status_class'>;
  /** Record one HTTP request. `route` must be a template (`/register/:clientId`), never a raw path. */
  observeHttpRequest(route: string, method: string, status: number, seconds: number): void;
}

// Buckets suited to an authorisation server: most answers take milliseconds, slow ones seconds.
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * One registry per process with the default process metrics and the HTTP histogram. Labels are
 * bounded: route templates, methods and status classes only — no client ids or raw paths.
 */
export function createMetrics(options: { service: string }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status class',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    httpRequestDuration,
    observeHttpRequest(route, method, status, seconds) {
      httpRequestDuration.observe(
        { route, method: method.toUpperCase(), status_class: `${Math.floor(status / 100)}xx` },
        seconds,
      );
    },
  };
}
