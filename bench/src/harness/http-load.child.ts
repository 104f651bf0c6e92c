// The autocannon process: reads its options (HttpLoadOptions) from argv[2] as JSON, prepares
// the bodies, runs one bounded load, prints one JSON line (HttpLoadResult). Started by
// runHttpLoad, never imported.
import autocannon, { type AutocannonRequest } from 'autocannon';
import type { HttpLoadOptions, HttpLoadResult } from './http-load';
import { monotonicMicros, prepareBodies } from './requests';

const options = JSON.parse(process.argv[2] ?? '{}') as HttpLoadOptions;
const prefix = options.expectBodyPrefix;
const method = options.method ?? 'POST';
const source = await prepareBodies(options);

const requests =
  source.kind === 'fixed'
    ? // Each connection cycles through one prepared request per body (built once, not per request).
      source.bodies.map((body) => ({ method, headers: options.headers, body }))
    : source.kind === 'generated'
      ? // One body per request over all connections, drawn as each request is built.
        [
          {
            method,
            headers: options.headers,
            setupRequest: (request: AutocannonRequest) => ({ ...request, body: source.take() }),
          },
        ]
      : [{ method, headers: options.headers }];

const fromMicros = monotonicMicros();
const result = await autocannon({
  url: options.url,
  connections: options.connections,
  ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds }),
  pipelining: 1,
  ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  ...(options.tls ? { tlsOptions: options.tls } : {}),
  requests,
  ...(prefix ? { verifyBody: (body: string) => body.startsWith(prefix) } : {}),
});

const toMicros = monotonicMicros();

const summary: HttpLoadResult = {
  requests: result.requests.total,
  durationSeconds: result.duration,
  requestsPerSecond: result.requests.total / result.duration,
  p50: result.latency.p50,
  p90: result.latency.p90,
  p99: result.latency.p99,
  max: result.latency.max,
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
  mismatches: (result as unknown as { mismatches?: number }).mismatches ?? 0,
  bodiesReused: source.reused(),
  window: { fromMicros, toMicros },
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
