// The load part of every scenario's smoke test: a target holds a short paced run and a short
// burst through the two load children with nothing failed. A smoke test, not a measurement:
// no speed is asserted.
import assert from 'node:assert/strict';
import { runHttpLoad, type HttpLoadOptions } from './http-load';
import { runPacedLoad } from './paced-load';
import { withBodyCount, type RequestSpec } from './requests';

export interface ShortLoadOptions {
  /** Requests per second of the paced run; at least one second's worth must be sent. */
  rate: number;
  pacedSeconds?: number;
  /** Generated bodies made for each run (fixed bodies are cycled and need no count). */
  pacedBodies?: number;
}

/** Requests in the burst: as fast as the target answers them on two connections. */
const SMOKE_BURST_REQUESTS = 100;

/** What went wrong in a run, all of which must be 0. */
function failures(run: {
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  bodiesReused?: number;
}): Record<string, number> {
  const { errors, timeouts, non2xx, mismatches, bodiesReused = 0 } = run;
  return { errors, timeouts, non2xx, mismatches, bodiesReused };
}

const sized = (spec: RequestSpec, count: number | undefined) =>
  count === undefined ? spec : withBodyCount(spec, count);

const NONE = { errors: 0, timeouts: 0, non2xx: 0, mismatches: 0, bodiesReused: 0 };

/**
 * @example
 * await assertHoldsShortLoad(target.url, target.requests, { rate: 40, pacedBodies: 120 });
 */
export async function assertHoldsShortLoad(url: string, spec: RequestSpec, options: ShortLoadOptions): Promise<void> {
  const common = { url, connections: 2 };
  const paced = await runPacedLoad({
    ...common,
    ...sized(spec, options.pacedBodies),
    rate: options.rate,
    warmupSeconds: 0.5,
    durationSeconds: options.pacedSeconds ?? 1.5,
  });
  assert.ok(paced.requests >= options.rate, `paced requests: ${paced.requests}`);
  assert.deepEqual(failures(paced), NONE, 'paced run');
  await assertHoldsBurst(url, spec);
}

/**
 * {@link SMOKE_BURST_REQUESTS} requests on two connections, as fast as the target answers: every
 * one answered, nothing failed. A number of requests, not a duration: on busy CI cores a cold
 * engine once answered nothing within a 1 s burst. The time limit is for a target that stops
 * answering.
 *
 * @example
 * await assertHoldsBurst(target.url, target.requests, { tls: target.tls, label: 'edge' });
 */
export async function assertHoldsBurst(
  url: string,
  spec: RequestSpec,
  { tls, label = 'burst' }: { tls?: HttpLoadOptions['tls']; label?: string } = {},
): Promise<void> {
  const burst = await runHttpLoad({
    url,
    connections: 2,
    ...withBodyCount(spec, SMOKE_BURST_REQUESTS),
    amount: SMOKE_BURST_REQUESTS,
    durationSeconds: 60,
    ...(tls ? { tls } : {}),
  });
  assert.equal(burst.requests, SMOKE_BURST_REQUESTS, `${label}: requests answered`);
  assert.deepEqual(failures(burst), NONE, label);
}
