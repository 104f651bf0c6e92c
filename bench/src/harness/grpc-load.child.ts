// The gRPC load process: introspection.v1.Introspection/Introspect in a closed loop with
// `concurrency` calls in flight through one channel, a warm-up, then a measured window. The
// warm-up starts once a first call was answered, so a slow channel connect or a cold server on
// a busy machine cannot eat the measured window (CI once saw zero calls in a 1 s window). Reads
// GrpcLoadOptions from argv[2], prints one JSON line (GrpcLoadResult). Never imported.
import { introspectionV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import type { GrpcLoadOptions, GrpcLoadResult } from './grpc-load';
import { percentileOfSorted } from './stats';

const options = JSON.parse(process.argv[2] ?? '{}') as GrpcLoadOptions;
const client = createGrpcClient(introspectionV1.IntrospectionClient, {
  target: options.target,
  defaultDeadlineMs: 5_000,
});

const FIRST_ANSWER_WITHIN_MS = 30_000;

let next = 0;
let measuring = false;
let stopping = false;
const latencies: number[] = [];
let errors = 0;
let inactive = 0;

function introspectNext() {
  return client.call('introspect', {
    token: options.tokens[next++ % options.tokens.length]!,
    tokenTypeHint: 'access_token',
    presentedCertificateThumbprint: '',
    presentedDpopJkt: '',
  });
}

/** Resolves once one call succeeds; the last error is thrown if none does in time. */
async function firstAnswer(): Promise<void> {
  const giveUpAt = performance.now() + FIRST_ANSWER_WITHIN_MS;
  for (;;) {
    try {
      await introspectNext();
      return;
    } catch (error) {
      if (performance.now() > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function worker(): Promise<void> {
  while (!stopping) {
    const started = performance.now();
    try {
      const response = await introspectNext();
      if (measuring) {
        latencies.push(performance.now() - started);
        if (!response.active) inactive += 1;
      }
    } catch {
      if (measuring) errors += 1;
    }
  }
}

await firstAnswer();
const workers = Array.from({ length: options.concurrency }, () => worker());
await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
measuring = true;
const startedAt = performance.now();
await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
measuring = false;
const durationSeconds = (performance.now() - startedAt) / 1000;
stopping = true;
await Promise.all(workers);
client.close();

latencies.sort((a, b) => a - b);
const result: GrpcLoadResult = {
  requests: latencies.length,
  durationSeconds,
  requestsPerSecond: latencies.length / durationSeconds,
  p50: latencies.length ? percentileOfSorted(latencies, 50) : 0,
  p99: latencies.length ? percentileOfSorted(latencies, 99) : 0,
  max: latencies.at(-1) ?? 0,
  errors,
  inactive,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
