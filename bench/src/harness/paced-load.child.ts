// The paced load process (see paced-load.ts): reads PacedLoadOptions from argv[2], prepares the
// bodies, prints one JSON line (PacedLoadResult). undici keep-alive pool, one request per
// connection at a time; requests due while every connection is busy wait in the pool's queue,
// and that wait counts.
import { Pool } from 'undici';
import type { PacedLoadOptions, PacedLoadResult } from './paced-load';
import { monotonicMicros, prepareBodies } from './requests';
import { percentileOfSorted } from './stats';

const options = JSON.parse(process.argv[2] ?? '{}') as PacedLoadOptions;
const source = await prepareBodies(options);
const method = options.method ?? 'POST';
const url = new URL(options.url);
const pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 });
const interval = 1000 / options.rate;
// The clock starts once the bodies are ready.
const start = performance.now() + 50;
const measureFrom = start + options.warmupSeconds * 1000;
const end = measureFrom + options.durationSeconds * 1000;
const toMonotonic = (at: number) => monotonicMicros() + Math.round((at - performance.now()) * 1000);
const window = { fromMicros: toMonotonic(measureFrom), toMicros: toMonotonic(end) };

const latencies: number[] = [];
/** How late each measured request left the generator (its own lag, not the server's). */
const lateness: number[] = [];
let errors = 0;
let timeouts = 0;
let non2xx = 0;
let mismatches = 0;
const pending = new Set<Promise<void>>();

function fire(due: number): void {
  const body = source.take();
  const measured = due >= measureFrom && due < end;
  if (measured) lateness.push(performance.now() - due);
  const request = pool
    .request({
      path: url.pathname,
      method,
      headers: options.headers,
      ...(body === undefined ? {} : { body }),
      headersTimeout: 10_000,
    })
    .then(async (response) => {
      const text = await response.body.text();
      if (!measured) return;
      latencies.push(performance.now() - due);
      if (response.statusCode < 200 || response.statusCode > 299) non2xx += 1;
      else if (options.expectBodyPrefix && !text.startsWith(options.expectBodyPrefix)) mismatches += 1;
    })
    .catch((error: { code?: string }) => {
      if (!measured) return;
      if (error.code === 'UND_ERR_HEADERS_TIMEOUT') timeouts += 1;
      else errors += 1;
    })
    .finally(() => pending.delete(request));
  pending.add(request);
}

await new Promise<void>((resolve) => {
  let index = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    for (let due = start + index * interval; due <= now && due < end; due = start + index * interval) {
      fire(due);
      index += 1;
    }
    if (start + index * interval >= end) {
      clearInterval(timer);
      resolve();
    }
  }, 1);
});
// Answers still missing 15 s after the window are abandoned (and were already past any p99).
await Promise.race([Promise.allSettled([...pending]), new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
await pool.destroy();

latencies.sort((a, b) => a - b);
lateness.sort((a, b) => a - b);
const result: PacedLoadResult = {
  requests: latencies.length,
  durationSeconds: options.durationSeconds,
  requestsPerSecond: latencies.length / options.durationSeconds,
  p50: latencies.length ? percentileOfSorted(latencies, 50) : 0,
  p90: latencies.length ? percentileOfSorted(latencies, 90) : 0,
  p99: latencies.length ? percentileOfSorted(latencies, 99) : 0,
  max: latencies.at(-1) ?? 0,
  errors,
  timeouts,
  non2xx,
  mismatches,
  bodiesReused: source.reused(),
  generatorLateP99: lateness.length ? percentileOfSorted(lateness, 99) : 0,
  window,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
