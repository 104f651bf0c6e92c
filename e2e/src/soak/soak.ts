// The soak (issue 12, load): the platform and the demo bank as the e2e flows start them, a short
// closed-loop search for the peak journey rate, then an open-loop paced run at a fraction of it,
// sampled every 10 s (per service: RSS and V8 heap used; per operation: p50, p99, errors), and
// judged by verdict.ts. main.ts (the full run) and soak.test.ts (the CI run) share all of it.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type * as oidc from 'openid-client';
import { startBankApi, type BankApi } from '../sandbox/bank-api';
import { SERVICES, startPlatformWithGateway, type Platform, type PlatformOptions } from '../platform/platform';
import { sampleMemory } from './memory';
import {
  figuresOf,
  judgeSoak,
  percentileOfSorted,
  type Check,
  type MemorySample,
  type MemoryTrend,
  type OperationFigures,
  type SoakThresholds,
  type SoakWindow,
  type WindowMemory,
} from './verdict';
import { OPERATIONS, createWorkload, type Operation, type Workload } from './workload';

export interface SoakPlan {
  /** Closed-loop concurrency levels tried in turn; the search stops once the rate stops rising. */
  peakConcurrency: number[];
  /** Seconds at each level (the first journeys of a level are not discarded: the platform is warm). */
  peakStepSeconds: number;
  /** The paced rate as a fraction of the peak journey rate. */
  fraction: number;
  soakSeconds: number;
  /** Windows ending within this many seconds of the start are reported but not judged. */
  warmUpSeconds: number;
  windowSeconds: number;
  /** Memory is sampled this often within each window (the window keeps its last and lowest). */
  memorySampleSeconds: number;
  /** client_credentials token + gateway introspection pairs between consecutive journeys. */
  backgroundPerJourney: number;
  /** A journey still running this long after it was due counts as an error. */
  journeyTimeoutSeconds: number;
  thresholds: SoakThresholds;
}

/**
 * The full run's limits (main.ts). p99: a third of the soak holds dozens of journeys and a few
 * times as many tokens, introspections and bank calls, so its p99 is near its maximum;
 * 2 × + 250 ms absorbs another process's burst on a shared 2-core machine, while queueing that
 * grows (a paced rate the platform cannot hold) doubles it within minutes. Operations with fewer
 * than 20 samples in a third are reported, not judged. Heap, after a full collection: healthy
 * services measured 0.07–0.82 MiB/min, with one-off steps of ~1 MiB (cause not traced) that a
 * short second half turns into up to 1.7 MiB/min; a leak of 16 KiB per
 * HTTP request in auth-server measured 2.1 MiB/min at 0.12 journeys/s and one of 32 KiB 7.4
 * MiB/min at 0.22, growing with the rate (bench/README.md, Soak). RSS: the lowest of five samples
 * per window, as consent-service's floor moves by a 128 MiB scrypt buffer when logins overlap; a
 * native leak (Buffers, outside the V8 heap) shows here only.
 */
export const FULL_THRESHOLDS: SoakThresholds = {
  p99Factor: 2,
  p99SlackMs: 250,
  p99MinSamples: 20,
  heapSlopeMiBPerMinute: 2,
  heapSlopeSpan: 'second-half',
  rssGrowthMiB: 64,
};

export const FULL_PLAN: SoakPlan = {
  peakConcurrency: [1, 2, 3, 4, 6],
  peakStepSeconds: 20,
  fraction: 0.5,
  soakSeconds: 600,
  warmUpSeconds: 30,
  windowSeconds: 10,
  memorySampleSeconds: 2,
  backgroundPerJourney: 2,
  journeyTimeoutSeconds: 60,
  thresholds: FULL_THRESHOLDS,
};

export interface PeakStep {
  concurrency: number;
  seconds: number;
  journeys: number;
  journeysPerSecond: number;
  journeyP50: number;
  journeyP99: number;
  errors: number;
}

export interface SoakResults {
  plan: SoakPlan;
  services: string[];
  peak: { steps: PeakStep[]; journeysPerSecond: number };
  /** Journeys per second offered in the paced phase (plus backgroundPerJourney pairs each). */
  rate: number;
  windows: SoakWindow[];
  /** Over the whole paced phase, warm-up included. */
  totals: Record<string, OperationFigures>;
  p99ByThird: Record<string, [number, number, number]>;
  memory: Record<string, MemoryTrend>;
  /** How late the generator itself started work (its own lag, not the platform's), p99 ms. */
  generatorLateP99: number;
  /** The first few failures, for whoever reads a failed run. */
  errorSamples: string[];
  checks: Check[];
  passed: boolean;
}

export interface SoakPlatform {
  platform: Platform;
  gateway: oidc.Configuration;
  bank: BankApi;
  stop(): Promise<void>;
}

/**
 * The platform behind the edge with the bank's gateway registered, and the demo bank. Every
 * service runs with collect-on-signal.ts; `env` adds settings per service (a NODE_OPTIONS there
 * is appended to the soak's).
 */
export async function startSoakPlatform(name: string, env: PlatformOptions['env'] = {}) {
  const { platform, gateway } = await startPlatformWithGateway({
    name,
    env: Object.fromEntries(
      SERVICES.map((service) => [
        service,
        {
          ...env[service],
          NODE_OPTIONS: [COLLECT_ON_SIGNAL, env[service]?.NODE_OPTIONS].filter(Boolean).join(' '),
        },
      ]),
    ),
  });
  let bank: BankApi;
  try {
    bank = await startBankApi({
      pki: platform.pki,
      introspectionTarget: platform.grpcAddress('token-introspection'),
      consentsTarget: platform.grpcAddress('consent-service'),
      log: () => undefined,
    });
  } catch (error) {
    await platform.stop();
    throw error;
  }
  return {
    platform,
    gateway,
    bank,
    async stop() {
      await bank.stop();
      await platform.stop();
    },
  } satisfies SoakPlatform;
}

interface Sample {
  at: number;
  operation: Operation;
  ms?: number;
  error?: string;
}

/** From SIGUSR2 to the heap sample: the collection of a few hundred MiB takes well under this. */
const GC_SETTLE_MS = 300;
/** Node flags of every service in the soak: gc() exposed, and the SIGUSR2 handler that calls it. */
const COLLECT_ON_SIGNAL = `--expose-gc --import tsx --import ${join(import.meta.dirname, 'collect-on-signal.ts')}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * A failure in one line: the error, and from its cause chain what openid-client keeps of the
 * answer (an HTTP status, an OAuth error code), which "unexpected HTTP response status code"
 * alone does not say.
 */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 400);
  const details: string[] = [];
  for (let cause: unknown = error, depth = 0; cause && typeof cause === 'object' && depth < 4; depth += 1) {
    const { status, error: code } = cause as { status?: unknown; error?: unknown };
    if (typeof status === 'number') details.push(`status ${status}`);
    if (typeof code === 'string') details.push(code);
    cause = (cause as { cause?: unknown }).cause;
  }
  const suffix = details.length > 0 ? ` (${[...new Set(details)].join(', ')})` : '';
  return `${error.name}: ${error.message}${suffix}`.slice(0, 400);
}

/**
 * Finds the peak, runs the paced soak and judges it. `log` gets one line per peak step and per
 * window, so a long run shows its progress.
 */
export async function runSoak(
  started: SoakPlatform,
  plan: SoakPlan,
  log: (line: string) => void,
  /** Stops starting work (e.g. node:test's t.signal when the test times out). */
  signal?: AbortSignal,
) {
  const { platform } = started;
  let sink: Sample[] = [];
  const record = (operation: Operation, outcome: { ms: number } | { error: unknown }) =>
    sink.push({
      at: performance.now(),
      operation,
      ...('ms' in outcome ? { ms: outcome.ms } : { error: describeError(outcome.error) }),
    });
  const workload = await createWorkload({
    platform,
    gateway: started.gateway,
    bankUrl: started.bank.url,
    record,
  });
  try {
    let index = 0;
    const nextIndex = () => index++;
    const peak = await findPeak(
      workload,
      plan,
      nextIndex,
      signal,
      () => {
        const taken = sink;
        sink = [];
        return taken;
      },
      log,
    );
    sink = [];
    const rate = peak.journeysPerSecond * plan.fraction;
    log(
      `peak ${peak.journeysPerSecond.toFixed(2)} journeys/s; soaking at ${rate.toFixed(2)} journeys/s for ${plan.soakSeconds} s`,
    );
    const paced = await pacedPhase(started, workload, plan, rate, nextIndex, signal, () => sink, log);
    const judged = judgeSoak({
      windows: paced.windows,
      latencies: paced.latencies,
      services: [...SERVICES],
      thresholds: plan.thresholds,
    });
    const totals = Object.fromEntries(
      OPERATIONS.flatMap((operation) => {
        const samples = sink.filter((sample) => sample.operation === operation);
        if (samples.length === 0) return [];
        return [
          [
            operation,
            figuresOf(
              samples.flatMap((sample) => (sample.ms === undefined ? [] : [sample.ms])),
              samples.filter((sample) => sample.error !== undefined).length,
            ),
          ],
        ];
      }),
    );
    return {
      plan,
      services: [...SERVICES],
      peak,
      rate,
      windows: paced.windows,
      totals,
      p99ByThird: judged.p99ByThird,
      memory: judged.memory,
      generatorLateP99: paced.generatorLateP99,
      errorSamples: [
        ...new Set(sink.flatMap((sample) => (sample.error ? [`${sample.operation}: ${sample.error}`] : []))),
      ].slice(0, 10),
      checks: judged.checks,
      passed: judged.passed,
    } satisfies SoakResults;
  } finally {
    await workload.close();
  }
}

/**
 * Closed loop: `concurrency` customers each run a journey and its background pairs, then the
 * next, for peakStepSeconds; the rate is the journeys completed in the step over its length.
 * Levels rise until one no longer beats the best by 10 %.
 */
async function findPeak(
  workload: Workload,
  plan: SoakPlan,
  nextIndex: () => number,
  signal: AbortSignal | undefined,
  take: () => Sample[],
  log: (line: string) => void,
): Promise<{ steps: PeakStep[]; journeysPerSecond: number }> {
  const steps: PeakStep[] = [];
  const failures: Sample[] = [];
  let best = 0;
  for (const concurrency of plan.peakConcurrency) {
    take();
    const start = performance.now();
    const end = start + plan.peakStepSeconds * 1000;
    const worker = async () => {
      while (performance.now() < end && !signal?.aborted) {
        const index = nextIndex();
        await workload.journey(index, performance.now()).catch(() => undefined);
        for (let i = 0; i < plan.backgroundPerJourney; i += 1)
          await workload.background(index * plan.backgroundPerJourney + i, performance.now()).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - start) / 1000;
    const samples = take();
    failures.push(...samples.filter((sample) => sample.error !== undefined));
    const journeys = samples.filter((sample) => sample.operation === 'journey' && sample.ms !== undefined);
    const figures = figuresOf(
      journeys.map((sample) => sample.ms!),
      0,
    );
    const step: PeakStep = {
      concurrency,
      seconds,
      journeys: journeys.length,
      journeysPerSecond: journeys.length / seconds,
      journeyP50: figures.p50,
      journeyP99: figures.p99,
      errors: samples.filter((sample) => sample.error !== undefined).length,
    };
    steps.push(step);
    log(
      `peak search: ${concurrency} at once → ${step.journeysPerSecond.toFixed(2)} journeys/s, p50 ${Math.round(step.journeyP50)} ms, p99 ${Math.round(step.journeyP99)} ms, ${step.errors} errors`,
    );
    if (step.journeysPerSecond < best * 1.1) break;
    best = Math.max(best, step.journeysPerSecond);
  }
  const journeysPerSecond = Math.max(...steps.map((step) => step.journeysPerSecond));
  if (!(journeysPerSecond > 0)) {
    const reasons = [...new Set(failures.map((sample) => `${sample.operation}: ${sample.error}`))];
    throw new Error(`no journey completed in the peak search:\n${reasons.slice(0, 5).join('\n')}`);
  }
  return { steps, journeysPerSecond };
}

/**
 * Open loop: journey k is due at start + k / rate whatever the platform's state, its background
 * pairs between it and the next; each is timed from when it was due, so a platform falling behind
 * shows as latency (no coordinated omission). Memory is sampled at every window's end.
 */
async function pacedPhase(
  started: SoakPlatform,
  workload: Workload,
  plan: SoakPlan,
  rate: number,
  nextIndex: () => number,
  signal: AbortSignal | undefined,
  samples: () => Sample[],
  log: (line: string) => void,
) {
  const { platform } = started;
  const interval = 1000 / rate;
  const start = performance.now() + 50;
  const end = start + plan.soakSeconds * 1000;
  const windowMs = plan.windowSeconds * 1000;
  const windowCount = Math.ceil(plan.soakSeconds / plan.windowSeconds);
  const memory: Array<Record<string, WindowMemory>> = [];
  const loadAverages: number[] = [];
  const lateness: number[] = [];
  const pending = new Set<Promise<void>>();
  const launch = (work: (due: number) => Promise<void>, due: number, record: (error: unknown) => void) => {
    lateness.push(performance.now() - due);
    // The work records its own latency or failure; only a hang is recorded here.
    const overdue = new Error(`not finished ${plan.journeyTimeoutSeconds} s after it was due`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(overdue), plan.journeyTimeoutSeconds * 1000);
    });
    const run = Promise.race([work(due), timeout])
      .then(
        () => undefined,
        (error: unknown) => {
          if (error === overdue) record(error);
        },
      )
      .finally(() => clearTimeout(timer));
    pending.add(run);
    void run.finally(() => pending.delete(run));
  };
  const sink = samples();
  const timeoutRecord = (operation: Operation) => (error: unknown) =>
    sink.push({ at: performance.now(), operation, error: describeError(error) });

  const services = SERVICES.map((name) => ({ name, process: platform.service(name) }));
  const sampleAll = async () =>
    Object.fromEntries(
      await Promise.all(
        services.map(
          async ({ name, process }) =>
            [name, await sampleMemory(process.child.pid!, `http://127.0.0.1:${process.ports.ops}`)] as const,
        ),
      ),
    );
  const sampler = (async () => {
    const perWindow = Math.max(1, Math.round(plan.windowSeconds / plan.memorySampleSeconds));
    for (let window = 1; window <= windowCount && !signal?.aborted; window += 1) {
      const within: Array<Record<string, MemorySample>> = [];
      for (let k = 1; k <= perWindow; k += 1) {
        const at = start + (window - 1) * windowMs + (k * windowMs) / perWindow;
        await sleep(Math.max(0, at - performance.now()));
        within.push(await sampleAll());
      }
      // A full collection in every service (collect-on-signal.ts), then the heap that survived it;
      // twice, keeping the lower: a request in flight during one collection holds its garbage.
      const collected: Array<Record<string, MemorySample>> = [];
      for (let round = 0; round < 2; round += 1) {
        for (const { process } of services) process.child.kill('SIGUSR2');
        await sleep(GC_SETTLE_MS);
        collected.push(await sampleAll());
      }
      const last = within.at(-1)!;
      const taken = Object.fromEntries(
        SERVICES.map((name) => [
          name,
          {
            ...last[name]!,
            rssFloorMiB: Math.min(...within.map((sample) => sample[name]!.rssMiB)),
            heapAfterGcMiB: Math.min(...collected.map((sample) => sample[name]!.heapUsedMiB)),
          },
        ]),
      );
      memory.push(taken);
      loadAverages.push(Math.round(loadavg()[0]! * 100) / 100);
      const inWindow = sink.filter(
        (sample) => sample.at >= start + (window - 1) * windowMs && sample.at < start + window * windowMs,
      );
      const journeys = inWindow.flatMap((sample) =>
        sample.operation === 'journey' && sample.ms !== undefined ? [sample.ms] : [],
      );
      const failures = inWindow.filter((sample) => sample.error !== undefined).length;
      const memoryLine = SERVICES.map(
        (name) => `${name} ${Math.round(taken[name]!.rssFloorMiB)}/${Math.round(taken[name]!.heapAfterGcMiB)}`,
      ).join(', ');
      log(
        `${window * plan.windowSeconds} s: ${journeys.length} journeys, p99 ${Math.round(
          percentileOfSorted(
            journeys.sort((a, b) => a - b),
            99,
          ),
        )} ms, ${failures} errors; ${memoryLine} MiB RSS floor/heap after GC; load ${loadAverages.at(-1)}`,
      );
    }
  })();

  let unit = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (let due = start + unit * interval; due <= now && due < end; due = start + unit * interval) {
        const journey = nextIndex();
        launch((at) => workload.journey(journey, at), due, timeoutRecord('journey'));
        for (let i = 1; i <= plan.backgroundPerJourney; i += 1) {
          const at = due + (i * interval) / (plan.backgroundPerJourney + 1);
          setTimeout(
            () =>
              launch(
                (from) => workload.background(journey * plan.backgroundPerJourney + i, from),
                at,
                timeoutRecord('cc-token'),
              ),
            Math.max(0, at - performance.now()),
          );
        }
        unit += 1;
      }
      if (start + unit * interval >= end || now >= end || signal?.aborted) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  await sampler;
  // Background pairs due in the last interval, then everything still running.
  await sleep(interval);
  await Promise.allSettled([...pending]);

  // Samples that completed after the last window's end belong to the last window.
  const windowOf = (sample: Sample) =>
    Math.min(windowCount - 1, Math.max(0, Math.floor((sample.at - start) / windowMs)));
  const latencies = Array.from({ length: windowCount }, () => ({}) as Record<string, number[]>);
  const errors = Array.from({ length: windowCount }, () => ({}) as Record<string, number>);
  for (const sample of sink) {
    const index = windowOf(sample);
    if (sample.ms !== undefined) (latencies[index]![sample.operation] ??= []).push(sample.ms);
    else errors[index]![sample.operation] = (errors[index]![sample.operation] ?? 0) + 1;
  }
  const windows: SoakWindow[] = memory.map((taken, index) => {
    const atSeconds = (index + 1) * plan.windowSeconds;
    const names = new Set([...Object.keys(latencies[index]!), ...Object.keys(errors[index]!)]);
    return {
      atSeconds,
      warmUp: atSeconds <= plan.warmUpSeconds,
      operations: Object.fromEntries(
        [...names].map((name) => [name, figuresOf(latencies[index]![name] ?? [], errors[index]![name] ?? 0)]),
      ),
      memory: taken,
      loadAverage: loadAverages[index]!,
    };
  });
  lateness.sort((a, b) => a - b);
  return { windows, latencies, generatorLateP99: percentileOfSorted(lateness, 99) };
}
