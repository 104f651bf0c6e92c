// The authorisation-code flow section of bench/README.md from bench/results/flow.json: flows per
// second and whole-flow latency per pass, each step's latency, the targets (each marked
// met or missed from the numbers), the load around every run, what runs, and findings.md.
import { RSS_LIMIT_MIB, measuredLine, targetTable, type TargetCheck } from '../auth-server/report';
import { CLIENT_ASSERTION_ALG } from '../auth-server/fixtures';
import type { MachineInfo, SourceState } from '../harness/machine';
import { formatNumber, formatSpread, markdownTable } from '../harness/stats';
import { machineLoadNote } from '../harness/tables';
import { FLOW_STEPS } from './flow';
import type { FlowPassSummary, FlowResults } from './run';
import type { FlowProcessName } from './targets';

const PROCESSES: FlowProcessName[] = ['auth-server', 'consent-service'];

const passesOf = (results: FlowResults) => [results.peak, ...results.paced];
const describeErrors = (pass: FlowPassSummary) => {
  const where = Object.entries(pass.errorsByStep)
    .map(([step, count]) => `${step} ${count}`)
    .join(', ');
  return where ? `${pass.errors} (${where})` : String(pass.errors);
};

/** Issue 11: no errors at 80 % of peak, and the RSS of each service under the limit at peak. */
export function checkFlowTargets(results: FlowResults): TargetCheck[] {
  const highest = results.paced.reduce<FlowPassSummary | undefined>(
    (best, pass) => (best && (best.offeredRate ?? 0) >= (pass.offeredRate ?? 0) ? best : pass),
    undefined,
  );
  const fraction = Math.max(...results.plan.fractions);
  return [
    {
      name: `errors at ${Math.round(fraction * 100)} % of peak (${formatNumber(highest?.offeredRate, 2)} flows/s)`,
      target: 'none',
      measured: `${highest ? describeErrors(highest) : '–'} in ${highest?.flows ?? 0} completed flows (${results.plan.repeats} runs)`,
      // No flow at all proves nothing.
      met: highest !== undefined && highest.errors === 0 && highest.flows > 0,
    },
    ...PROCESSES.map((name) => {
      const rss = results.peak.rssMiB[name]?.max;
      return {
        name: `RSS of ${name} at peak`,
        target: `< ${RSS_LIMIT_MIB} MiB`,
        measured: `${formatNumber(rss, 0)} MiB (highest run)`,
        met: rss !== undefined && rss < RSS_LIMIT_MIB,
      };
    }),
  ];
}

export function renderFlowSection(options: {
  results: FlowResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results, machine } = options;
  const { plan } = results;
  const passes = passesOf(results);
  const labelOf = (pass: FlowPassSummary) =>
    pass.offeredRate === undefined ? `peak (${plan.peakConcurrency} customers at once)` : `${pass.label} of peak`;
  const loads = passes.flatMap((pass) => pass.runs.flatMap((run) => [run.loadAverage.before, run.loadAverage.after]));
  const loadNote = machineLoadNote({
    cores: machine.cores,
    scenario: results.loadAverage,
    highest: loads.length > 0 ? Math.max(...loads) : undefined,
  });
  const flowTable = markdownTable(
    [
      'pass',
      'offered flows/s',
      'flows/s',
      'flow p50 ms',
      'flow p99 ms',
      ...PROCESSES.map((name) => `${name} RSS MiB`),
      'errors (step)',
    ],
    passes.map((pass) => [
      labelOf(pass),
      pass.offeredRate === undefined ? 'closed loop' : formatNumber(pass.offeredRate, 2),
      formatSpread(pass.flowsPerSecond, 2),
      formatSpread(pass.flowP50, 0),
      formatSpread(pass.flowP99, 0),
      ...PROCESSES.map((name) => formatSpread(pass.rssMiB[name], 0)),
      describeErrors(pass),
    ]),
  );
  const stepTable = markdownTable(
    ['pass', ...FLOW_STEPS.map((step) => `${step} p50 / p99 ms`)],
    passes.map((pass) => [
      labelOf(pass),
      ...FLOW_STEPS.map(
        (step) => `${formatNumber(pass.steps[step].p50?.median, 0)} / ${formatNumber(pass.steps[step].p99?.median, 0)}`,
      ),
    ]),
  );
  const loadTable = markdownTable(
    ['pass', ...Array.from({ length: plan.repeats }, (_, index) => `run ${index + 1}`)],
    passes.map((pass) => [
      labelOf(pass),
      ...pass.runs.map((run) => `${run.loadAverage.before.toFixed(2)} → ${run.loadAverage.after.toFixed(2)}`),
    ]),
  );
  return `## A complete authorisation-code flow (issue 11 scenario 4)

${measuredLine(machine, options.source, options.measuredAt)}

${loadNote}

### Flows per second and whole-flow latency

${flowTable}

Medians of ${plan.repeats} runs of ${plan.durationSeconds} s after a ${plan.warmupSeconds} s warm-up, with min–max. A
paced flow is timed from when it was due, so queueing in the generator or at the servers counts.
The peak is closed-loop: ${plan.peakConcurrency} customers, each starting the next flow when the last ended. At a few
flows per second a run holds few flows (8 in 10 s at 0.8 flows/s), so its p99 is about its slowest flow.

### Where the time goes, step by step (medians of the runs' p50 and p99)

${stepTable}

### Targets

${targetTable(checkFlowTargets(results))}

### 1-minute load average around each measured run (before → after)

${loadTable}

### What runs

- **A flow**, as a FAPI 2.0 TPP and its customer's browser drive it (\`bench/src/flow/flow.ts\`):
  **par** — \`POST /par\` with \`private_key_jwt\` and a request object (both ${CLIENT_ASSERTION_ALG}, as in
  the PAR scenario), answered 201 with a \`request_uri\`; **authorize** — \`GET /authorize\` with it,
  the redirect to the interaction followed to the login page; **login** — the login form posted
  (a sandbox customer's username and password, the three customers in turn), redirects followed to
  the consent page; **consent** — the consent form posted (every account offered, \`decision=approve\`),
  redirects followed to the TPP's \`redirect_uri\` with \`code\`, the request's \`state\` and \`iss\`
  (RFC 9207); **token** — \`POST /token\` with the code, the PKCE verifier and a second assertion,
  answered 200 with an access token (bound to the TPP's certificate, \`cnf.x5t#S256\`; the smoke test
  reads it back from Redis) and an ID token. Each step checks its answer; a wrong one ends the flow
  as an error at that step and never counts as a flow. The TPP's JWTs are signed in the load
  process before its clock starts, one set per flow.
- **Load**: its own child process (\`bench/src/flow/flow-load.child.ts\`), one undici keep-alive pool
  of ${plan.connections} connections to auth-server carrying every flow's requests, a cookie jar per flow.
  Paced runs start flow _k_ at _k_ / rate whatever the servers' state (open loop). RSS is the peak
  \`VmRSS\` of each service process sampled every 250 ms during each run.
- **Direct to auth-server's port** with the edge's headers, as in the other auth-server scenarios:
  \`ssl-client-cert\` and \`ssl-client-verify\` on \`/par\` and \`/token\` (the mTLS host), none on the
  browser's requests (the public host). auth-server prints the public host (its issuer) in its
  redirects; the load process requests those paths on the same port, as the edge would route them.
  The edge's own cost is scenario 7's subject.
- **obip**: auth-server (\`services/auth-server/src/main.ts\`) with the settings of the token and PAR
  scenarios, the production deadline of 2 s on each consent-service call; consent-service
  (\`services/consent-service/src/main.ts\`) with the bundled sandbox customers, whose passwords are
  scrypt hashes with N = 2^17 (128 MiB and hundreds of ms of CPU per login), its consents in
  FerretDB; the two over gRPC (VerifyCustomerCredentials, ListCustomerAccounts,
  CreateGenericConsent); auth-server's sessions and grants in FerretDB, codes, PAR requests and
  tokens in Redis; the ClientRegistry stand-in of the other scenarios (a real gRPC server in the
  benchmark process) as dcr-service. The bare engine of the other scenarios is started too but
  not loaded: no engine baseline is measured for this scenario.

All of it, FerretDB and Redis included, shares the machine's ${machine.cores} cores with the load process.

${options.findings.trim()}
`;
}
