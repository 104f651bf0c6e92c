// bench/README.md, rendered from every scenario's saved results (bench/results/<scenario>.json)
// and its findings.md: each scenario's command rewrites its own results and then this whole
// file, so the sections of scenarios not run this time are kept as last measured.
import { join } from 'node:path';
import { repoRoot } from './harness/processes';
import { readFindings, readResults, writeMarkdown } from './harness/results';
import { renderIntrospectionSection } from './introspection/report';
import type { IntrospectionResults } from './introspection/run';
import type { SourceState } from './harness/machine';
import { renderDiscoverySection } from './discovery/report';
import type { DiscoveryResults } from './discovery/run';
import { renderParSection } from './par/report';
import { renderFlowSection } from './flow/report';
import type { FlowResults } from './flow/run';
import { renderTokenSection } from './token/report';
import type { EndpointResults } from './auth-server/scenario';
import { renderSoakSection, type SoakResults } from './soak/report';
import { renderEdgeSection, renderScaleSection } from './edge/report';
import type { EdgeResults } from './edge/run';
import { renderDcrSection } from './dcr/report';
import type { DcrResults } from './dcr/run';

const HEADER = `# bench

Benchmarks of obip, measured as issue 11 asks: the load generator in its own process, the
servers on loopback, 10 s measured runs after a 3 s warm-up, 3 repeats per target
(interleaved), the median with min–max. Speed is never asserted by a test: \`npm test\` runs
only the harness's unit tests and a smoke test that each server answers correctly.

| scenario                              | command (or \`node --import tsx bench/src/<scenario>/main.ts\`) | results                            | takes      |
| ------------------------------------- | ------------------------------------------------------- | ---------------------------------- | ---------- |
| 1 introspection                        | \`npx nx run bench:bench:introspection\`                   | \`bench/results/introspection.json\` | ≈ 6 min    |
| 2 token endpoint (client_credentials)  | \`npx nx run bench:bench:token\`                           | \`bench/results/token.json\`         | ≈ 6 min    |
| 3 PAR with a signed request object     | \`npx nx run bench:bench:par\`                             | \`bench/results/par.json\`           | ≈ 7 min    |
| 4 authorisation-code flow at fixed rates | \`npx nx run bench:bench:flow\`                          | \`bench/results/flow.json\`          | ≈ 5 min    |
| 5 DCR registration (SSA, MongoDB write) | \`npx nx run bench:bench:dcr\`                           | \`bench/results/dcr.json\`           | ≈ 7 min    |
| 6 discovery and JWKS                   | \`npx nx run bench:bench:discovery\`                       | \`bench/results/discovery.json\`     | ≈ 10 min   |
| 7 through the nginx edge twin vs. direct, and scale-out (2 replicas) | \`npx nx run bench:bench:edge\` | \`bench/results/edge.json\` | ≈ 6 min |
| soak (issue 12): the mix at 50 % of peak | \`npx nx run bench:bench:soak\` (10 min; \`--duration=3m\` for a shorter run) | \`bench/results/soak.json\`          | ≈ 13 min   |
| all of 1–7 in turn, then this file      | \`npx nx run bench:bench:all\` (\`--with-soak\` adds the soak)    | every file above                  | ≈ 55 min   |

Each command measures its scenario, rewrites its results file and renders this whole file again
from every results file present. \`--profile\` instead runs obip alone under \`--cpu-prof\` and
prints the functions with the most self time while the measured run lasted (the numbers of a
profiled run are not results). \`--report-only\` renders this file again from the saved results and
each scenario's \`findings.md\` without measuring. In scenarios 2–7 every measured run records the
1-minute load average just before and after it, and each section says whether other work
competed for the cores. Every measured run also records the server's CPU time per request by
thread (main thread, V8's garbage-collector workers, libuv's pool; \`bench/src/harness/thread-cpu.ts\`),
which the token and PAR sections show: on two shared cores, throughput is what that costs.

obip's services run as their container images run them: the esbuild bundle
(\`scripts/build-project.mjs\`), \`NODE_ENV=production\`, and the chart's \`global.nodeOptions\`,
\`global.mallocArenaMax\` and \`global.mallocMmapThreshold\` (\`bench/src/harness/service-runtime.ts\`).
\`BENCH_SERVICE_RUNTIME=source\` runs them under tsx instead; \`BENCH_NODE_OPTIONS\`,
\`BENCH_MALLOC_ARENA_MAX\` and \`BENCH_MALLOC_MMAP_THRESHOLD\` try other memory settings; \`BENCH_DURATION_SECONDS\`, \`BENCH_WARMUP_SECONDS\` and \`BENCH_REPEATS\` shorten a run
(its numbers are then not results).`;

const scenarioDir = (name: string) => join(repoRoot, 'bench/src', name);

export function renderBenchReadme(): string {
  const sections = [HEADER];
  const introspection = readResults<IntrospectionResults & { source?: SourceState }>('introspection');
  if (introspection)
    sections.push(
      renderIntrospectionSection({
        results: introspection,
        machine: introspection.machine,
        measuredAt: introspection.measuredAt,
        source: introspection.source,
        findings: readFindings(scenarioDir('introspection')),
      }),
    );
  const token = readResults<EndpointResults & { source?: SourceState }>('token');
  if (token)
    sections.push(
      renderTokenSection({
        results: token,
        machine: token.machine,
        source: token.source,
        measuredAt: token.measuredAt,
        findings: readFindings(scenarioDir('token')),
      }),
    );
  const par = readResults<EndpointResults & { source?: SourceState }>('par');
  if (par)
    sections.push(
      renderParSection({
        results: par,
        machine: par.machine,
        source: par.source,
        measuredAt: par.measuredAt,
        findings: readFindings(scenarioDir('par')),
      }),
    );
  const flow = readResults<FlowResults & { source?: SourceState }>('flow');
  if (flow)
    sections.push(
      renderFlowSection({
        results: flow,
        machine: flow.machine,
        source: flow.source,
        measuredAt: flow.measuredAt,
        findings: readFindings(scenarioDir('flow')),
      }),
    );
  const dcr = readResults<DcrResults & { source?: SourceState }>('dcr');
  if (dcr)
    sections.push(
      renderDcrSection({
        results: dcr,
        machine: dcr.machine,
        source: dcr.source,
        measuredAt: dcr.measuredAt,
        findings: readFindings(scenarioDir('dcr')),
      }),
    );
  const discovery = readResults<DiscoveryResults & { source?: SourceState }>('discovery');
  if (discovery)
    sections.push(
      renderDiscoverySection({
        results: discovery,
        machine: discovery.machine,
        source: discovery.source,
        measuredAt: discovery.measuredAt,
        findings: readFindings(scenarioDir('discovery')),
      }),
    );
  const edge = readResults<EdgeResults & { source?: SourceState }>('edge');
  if (edge) {
    const input = {
      results: edge,
      machine: edge.machine,
      source: edge.source,
      measuredAt: edge.measuredAt,
      findings: readFindings(scenarioDir('edge')),
    };
    sections.push(renderEdgeSection(input), renderScaleSection(input));
  }
  const soak = readResults<SoakResults & { source?: SourceState }>('soak');
  if (soak)
    sections.push(
      renderSoakSection({
        results: soak,
        machine: soak.machine,
        source: soak.source,
        measuredAt: soak.measuredAt,
        findings: readFindings(scenarioDir('soak')),
      }),
    );
  return `${sections.join('\n\n')}\n`;
}

export async function writeBenchReadme(): Promise<void> {
  await writeMarkdown(join(repoRoot, 'bench/README.md'), renderBenchReadme());
}
