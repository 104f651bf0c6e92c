// The autocannon process: reads its options (HttpLoadOptions) from argv[2] as JSON, runs one
// bounded load, prints one JSON line (HttpLoadResult). Started by runHttpLoad, never imported.
import autocannon from 'autocannon';
import type { HttpLoadOptions, HttpLoadResult } from './http-load';

const options = JSON.parse(process.argv[2] ?? '{}') as HttpLoadOptions;
const prefix = options.expectBodyPrefix;

const result = await autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.durationSeconds,
  pipelining: 1,
  ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  // Each connection cycles through one prepared request per token (built once, not per request).
  requests: options.bodies.map((body) => ({ method: 'POST' as const, headers: options.headers, body })),
  ...(prefix ? { verifyBody: (body: string) => body.startsWith(prefix) } : {}),
});

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
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
