// The README section of an auth-server endpoint scenario (token endpoint, PAR) from its
// results: the machine, source and load, the peak and paced tables, the targets (each
// marked met or missed from the numbers, never by hand), the load around every run, what runs,
// and the findings.md of whoever profiled it.
import type { TargetCheck } from '../harness/command';
import { measuredLine, type MachineInfo, type SourceState } from '../harness/machine';
import type { PassSummary } from '../harness/passes';
import { formatNumber, markdownTable, ratio } from '../harness/stats';
import {
  cpuPerRequestSection,
  highestLoad,
  loadAverageTable,
  machineLoadNote,
  pacedTable,
  peakTable,
} from '../harness/tables';
import type { EndpointResults, EndpointTargetName } from './scenario';

export { measuredLine };
export type { TargetCheck };

/** Issue 11: "RSS of each service under 200 MB at peak", read as MiB (VmRSS is counted in KiB). */
export const RSS_LIMIT_MIB = 200;
const ORDER: EndpointTargetName[] = ['obip', 'engine', 'floor'];

/** obip's throughput over a baseline's, from medians. */
export function throughputRatio(results: Pick<EndpointResults, 'peak'>, baseline: 'engine' | 'floor') {
  return ratio(results.peak.obip.requestsPerSecond.median, results.peak[baseline].requestsPerSecond.median);
}

/** Issue 11's targets for every scenario: no errors at the paced fraction of peak, RSS under the limit. */
export function commonChecks(results: Pick<EndpointResults, 'peak' | 'paced' | 'plan'>, prefix = ''): TargetCheck[] {
  const { peak, paced, plan } = results;
  const rss = peak.obip.rssMiB?.max;
  const failures = (pass: PassSummary) => pass.errors + pass.non2xx + pass.mismatches;
  return [
    {
      name: `${prefix}errors at ${Math.round(plan.pacedFraction * 100)} % of peak`,
      target: 'none',
      measured: `${paced.obip.errors} / ${paced.obip.non2xx} / ${paced.obip.mismatches} (errors / non-2xx / wrong answer, ${plan.repeats} runs)`,
      met: failures(paced.obip) === 0,
    },
    {
      name: `${prefix}RSS of auth-server at peak`,
      target: `< ${RSS_LIMIT_MIB} MiB`,
      measured: `${formatNumber(rss, 0)} MiB (highest run)`,
      met: rss !== undefined && rss < RSS_LIMIT_MIB,
    },
  ];
}

export function targetTable(checks: TargetCheck[]): string {
  return markdownTable(
    ['issue 11 target', 'target', 'measured (medians)', 'met?'],
    checks.map((check) => [check.name, check.target, check.measured, check.met ? 'yes' : '**no**']),
  );
}

export function renderEndpointSection(options: {
  title: string;
  labels: Record<EndpointTargetName, string>;
  results: EndpointResults;
  checks: TargetCheck[];
  /** Sentences between the targets table and the load table (peer calls, notes). */
  afterTargets: string;
  whatRuns: string;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results, machine, labels } = options;
  const { plan, peak, paced } = results;
  const percent = Math.round(plan.pacedFraction * 100);
  const loadNote = machineLoadNote({
    cores: machine.cores,
    scenario: results.loadAverage,
    highest: highestLoad([peak, paced]),
  });
  return `## ${options.title}

${measuredLine(machine, options.source, options.measuredAt)}

${loadNote}

### At peak (${plan.connections} keep-alive connections, as fast as each server answers)

${peakTable(ORDER, labels, peak, { floor: 'floor', engine: 'engine' })}

${cpuPerRequestSection(ORDER, labels, peak)}### At ${percent} % of each target's own peak rate (paced open-loop generator)

${pacedTable(ORDER, labels, paced)}

### Targets

${targetTable(options.checks)}

${options.afterTargets}

### 1-minute load average around each measured run (before → after)

${loadAverageTable(ORDER, labels, [
  { label: 'peak', pass: peak },
  { label: `${percent} %`, pass: paced },
])}

### What runs

${options.whatRuns.trim()}

All three servers, Redis, FerretDB, the gRPC stand-in and the load generator share the machine's
${machine.cores} cores, so absolute figures mostly measure this machine; the ratios are what the targets are about.

${options.findings.trim()}
`;
}
