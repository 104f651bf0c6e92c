// The edge and scale-out benchmark's plan: for each service, the three targets (direct, through
// the twin to one replica, through the twin to two) at peak, repeated and interleaved so drift
// hits every target alike. Each measured run records, besides what every scenario records, the
// peak RSS and the CPU time of every process the target reaches (each replica and nginx), from
// which the report derives the cost per request and the throughput per core used.
import { runHttpLoad } from '../harness/http-load';
import { loadAverage1m } from '../harness/machine';
import {
  interleaved,
  summariseAll,
  type LoadAround,
  type MeasuredRun,
  type MeasurePlan,
  type PassSummary,
} from '../harness/passes';
import { sampleRss } from '../harness/processes';
import { bodiesNeeded, withBodyCount } from '../harness/requests';
import { cpuSeconds } from '../harness/thread-cpu';
import {
  EDGE_TARGETS,
  startEdgeTargets,
  type EdgeService,
  type EdgeTarget,
  type EdgeTargetName,
  type WatchedProcess,
} from './targets';

export interface EdgePlan extends MeasurePlan {
  services: EdgeService[];
  order: EdgeTargetName[];
}

export const DEFAULT_EDGE_PLAN: EdgePlan = {
  warmupSeconds: 3,
  durationSeconds: 10,
  repeats: 3,
  connections: 32,
  services: ['introspection', 'token'],
  order: [...EDGE_TARGETS],
};

/** One process during one measured run. */
export interface ProcessUse extends WatchedProcess {
  /** Peak VmRSS during the measured run (MiB). */
  rssMiB: number | undefined;
  /** CPU time (user + system) over the measured run, per second of it: cores kept busy. */
  cores: number | undefined;
}

export interface EdgeRun extends MeasuredRun {
  processes: ProcessUse[];
}

export interface EdgeServiceResults {
  peak: Record<EdgeTargetName, PassSummary>;
  /** The 1-minute load average when this service's servers started and after its last run. */
  loadAverage: LoadAround;
}

export interface EdgeResults {
  plan: EdgePlan;
  services: Partial<Record<EdgeService, EdgeServiceResults>>;
}

/** When bodies are generated and nothing is known yet: more than any target here answers. */
const FIRST_RATE_GUESS = 8_000;

/**
 * As fast as the target answers: a warm-up run, then the measured run, as harness/passes.ts
 * measurePeak does, with the RSS and CPU time of every process the target reaches.
 */
export async function measureEdgePeak(target: EdgeTarget, plan: MeasurePlan, expectedRate?: number): Promise<EdgeRun> {
  const load = { url: target.url, connections: plan.connections, ...(target.tls ? { tls: target.tls } : {}) };
  const spec = target.requests;
  const warmup = await runHttpLoad({
    ...load,
    ...withBodyCount(spec, bodiesNeeded(expectedRate ?? FIRST_RATE_GUESS, plan.warmupSeconds)),
    durationSeconds: plan.warmupSeconds,
  });
  const rate = Math.max(warmup.requestsPerSecond * 1.5, expectedRate ?? 0);
  const measuredSpec = withBodyCount(spec, bodiesNeeded(rate, plan.durationSeconds));
  const before = loadAverage1m();
  const watched = target.processes.map((process) => ({
    process,
    rss: sampleRss(process.pid),
    cpu: cpuSeconds(process.pid),
  }));
  const result = await runHttpLoad({ ...load, ...measuredSpec, durationSeconds: plan.durationSeconds });
  const processes = watched.map(({ process, rss, cpu }): ProcessUse => {
    const after = cpuSeconds(process.pid);
    return {
      ...process,
      rssMiB: rss.stop(),
      cores: cpu === undefined || after === undefined ? undefined : (after - cpu) / result.durationSeconds,
    };
  });
  return {
    ...result,
    // The table's RSS column: replica 1, the process every target reaches.
    rssMiB: processes[0]?.rssMiB,
    loadAverage: { before, after: loadAverage1m() },
    processes,
  };
}

/** Starts each service's targets in turn, checks their answers and measures them. */
export async function runEdgeBenchmark(plan: EdgePlan, log: (line: string) => void): Promise<EdgeResults> {
  const services: EdgeResults['services'] = {};
  for (const service of plan.services) {
    const loadBefore = loadAverage1m();
    const started = await startEdgeTargets(service);
    try {
      for (const name of plan.order) await started.check(started.targets[name]);
      log(`${service}: every target answers correctly, through the twins with a client certificate; measuring`);
      const lastRate: Partial<Record<EdgeTargetName, number>> = {};
      const runs = await interleaved(
        plan.order,
        plan.repeats,
        async (name) => {
          const run = await measureEdgePeak(started.targets[name], plan, lastRate[name]);
          lastRate[name] = run.requestsPerSecond;
          return run;
        },
        log,
        `${service} peak`,
      );
      services[service] = { peak: summariseAll(runs), loadAverage: { before: loadBefore, after: loadAverage1m() } };
    } finally {
      await started.stop();
    }
  }
  return { plan, services };
}
