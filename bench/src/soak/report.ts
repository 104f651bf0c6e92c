// The Soak section of bench/README.md (issue 12, load), from bench/results/soak.json as
// bench/src/soak/main.ts saves it: the workload and verdict live in e2e/src/soak/ (e2e may not
// import bench nor bench e2e), so the shape below is the part of its JSON this page reads.
import { measuredLine } from '../auth-server/report';
import type { MachineInfo, SourceState } from '../harness/machine';
import { formatNumber, markdownTable, median } from '../harness/stats';

interface Figures {
  count: number;
  errors: number;
  p50: number;
  p99: number;
}

/** e2e/src/soak/soak.ts SoakResults, as saved (with the bench's header and load average). */
export interface SoakResults {
  plan: {
    peakConcurrency: number[];
    peakStepSeconds: number;
    fraction: number;
    soakSeconds: number;
    warmUpSeconds: number;
    windowSeconds: number;
    backgroundPerJourney: number;
    journeyTimeoutSeconds: number;
    thresholds: {
      p99Factor: number;
      p99SlackMs: number;
      p99MinSamples: number;
      heapSlopeMiBPerMinute: number;
      heapSlopeSpan: 'second-half' | 'all';
      rssGrowthMiB: number;
    };
  };
  services: string[];
  peak: {
    steps: Array<{
      concurrency: number;
      seconds: number;
      journeys: number;
      journeysPerSecond: number;
      journeyP50: number;
      journeyP99: number;
      errors: number;
    }>;
    journeysPerSecond: number;
  };
  rate: number;
  windows: Array<{
    atSeconds: number;
    warmUp: boolean;
    operations: Record<string, Figures>;
    memory: Record<string, { rssMiB: number; heapUsedMiB: number; rssFloorMiB: number; heapAfterGcMiB: number }>;
    loadAverage: number;
  }>;
  totals: Record<string, Figures>;
  p99ByThird: Record<string, [number, number, number]>;
  memory: Record<
    string,
    {
      heapSlopeMiBPerMinute: number;
      rssFirstThirdMiB: number;
      rssLastThirdMiB: number;
      heapFirstThirdMiB: number;
      heapLastThirdMiB: number;
    }
  >;
  generatorLateP99: number;
  errorSamples: string[];
  checks: Array<{ name: string; limit: string; measured: string; passed: boolean }>;
  passed: boolean;
  /** The 1-minute load average before the platform started and after it stopped. */
  loadAverage?: { before: number; after: number };
}

/** The operations in journey order, then any others the results hold. */
const ORDER = ['journey', 'register', 'cc-token', 'intent', 'par', 'login-consent', 'token', 'introspect', 'bank'];
const LABELS: Record<string, string> = {
  journey: 'whole journey (from when it was due)',
  register: 'DCR registration (POST /register)',
  'cc-token': 'client_credentials token',
  intent: 'account-access intent (POST)',
  par: 'PAR (POST /par)',
  'login-consent': 'authorize + login + consent (3 page round trips)',
  token: 'code exchange (POST /token)',
  introspect: "gateway's introspection (POST /introspect)",
  bank: 'bank API call (gRPC-introspected)',
};

const ms = (value: number | undefined) => formatNumber(value, 0);
const mib = (value: number | undefined) => formatNumber(value, 0);

export function renderSoakSection(options: {
  results: SoakResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results, machine } = options;
  const { plan, peak, windows } = results;
  const t = plan.thresholds;
  const minutes = plan.soakSeconds / 60;
  const operations = [
    ...ORDER.filter((name) => results.totals[name]),
    ...Object.keys(results.totals).filter((name) => !ORDER.includes(name)),
  ];
  const loads = windows.map((window) => window.loadAverage);
  const highest = loads.length > 0 ? Math.max(...loads) : undefined;
  const loadNote =
    highest === undefined
      ? ''
      : highest > machine.cores + 1.5
        ? `**Measured on a shared machine.** The 1-minute load average reached ${highest.toFixed(2)} on ${machine.cores} cores during the soak (median ${formatNumber(median(loads), 2)}): other work competed for the CPU, so latencies are higher and noisier than on a quiet machine.`
        : `The 1-minute load average stayed at or below ${highest.toFixed(2)} on ${machine.cores} cores during the soak.`;

  return `## Soak: the mixed workload through the edge at ${Math.round(plan.fraction * 100)} % of peak (issue 12)

${measuredLine(machine, options.source, options.measuredAt)}

${loadNote}

**Verdict: ${results.passed ? 'passed' : 'FAILED'}.** ${formatNumber(minutes, 1)} minutes at ${formatNumber(results.rate, 2)} journeys/s
(${Math.round(plan.fraction * 100)} % of the measured peak of ${formatNumber(peak.journeysPerSecond, 2)} journeys/s), each journey followed
by ${plan.backgroundPerJourney} client_credentials tokens with their introspections; ${results.totals.journey?.count ?? 0} journeys,
${Object.values(results.totals).reduce((sum, figures) => sum + figures.count, 0) - (results.totals.journey?.count ?? 0)} timed operations,
${Object.values(results.totals).reduce((sum, figures) => sum + figures.errors, 0)} errors. The generator itself started work at most
${ms(results.generatorLateP99)} ms late (p99).

### Peak search (closed loop, ${plan.peakStepSeconds} s per level, stops when a level gains < 10 %)

${markdownTable(
  ['customers at once', 'journeys', 'journeys/s', 'journey p50 ms', 'journey p99 ms', 'errors'],
  peak.steps.map((step) => [
    String(step.concurrency),
    String(step.journeys),
    formatNumber(step.journeysPerSecond, 2),
    ms(step.journeyP50),
    ms(step.journeyP99),
    String(step.errors),
  ]),
)}

### Per operation over the soak (p99 per third after the ${plan.warmUpSeconds} s warm-up)

${markdownTable(
  ['operation', 'count', 'errors', 'p50 ms', 'p99 ms', 'p99 first third', 'p99 middle', 'p99 last third'],
  operations.map((name) => {
    const figures = results.totals[name]!;
    const byThird = results.p99ByThird[name];
    return [
      LABELS[name] ?? name,
      String(figures.count),
      String(figures.errors),
      ms(figures.p50),
      ms(figures.p99),
      ms(byThird?.[0]),
      ms(byThird?.[1]),
      ms(byThird?.[2]),
    ];
  }),
)}

### Memory per service process (medians of the first and last thirds after warm-up: RSS floors, heap after a full collection)

${markdownTable(
  [
    'service',
    'RSS MiB first → last',
    'heap used MiB first → last',
    `heap slope MiB/min (${t.heapSlopeSpan === 'second-half' ? 'second half' : 'after warm-up'})`,
  ],
  results.services.map((service) => {
    const trend = results.memory[service]!;
    return [
      service,
      `${mib(trend.rssFirstThirdMiB)} → ${mib(trend.rssLastThirdMiB)}`,
      `${mib(trend.heapFirstThirdMiB)} → ${mib(trend.heapLastThirdMiB)}`,
      formatNumber(trend.heapSlopeMiBPerMinute, 2),
    ];
  }),
)}

### Verdict

${markdownTable(
  ['check', 'limit', 'measured', 'passed?'],
  results.checks.map((check) => [check.name, check.limit, check.measured, check.passed ? 'yes' : '**no**']),
)}

${results.errorSamples.length > 0 ? `First errors:\n\n${results.errorSamples.map((error) => `- \`${error.replace(/`/g, "'")}\``).join('\n')}\n` : ''}
### Every ${plan.windowSeconds} s (per service: lowest RSS of the window / heap used after a full collection, MiB)

${markdownTable(
  ['s', 'journeys', 'errors', 'journey p99 ms', ...results.services, 'load'],
  windows.map((window) => [
    `${window.atSeconds}${window.warmUp ? ' (warm-up)' : ''}`,
    String(window.operations.journey?.count ?? 0),
    String(Object.values(window.operations).reduce((sum, figures) => sum + figures.errors, 0)),
    ms(window.operations.journey?.p99),
    ...results.services.map(
      (service) => `${mib(window.memory[service]?.rssFloorMiB)} / ${mib(window.memory[service]?.heapAfterGcMiB)}`,
    ),
    formatNumber(window.loadAverage, 2),
  ]),
)}

${options.findings.trim()}
`;
}
