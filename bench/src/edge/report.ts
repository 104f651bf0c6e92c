// The two bench/README.md sections rendered from bench/results/edge.json: issue 11 scenario 7
// (through the nginx edge twin vs. direct) and the scale-out (two replicas behind the twin vs.
// one), with the cost of the edge per request, the throughput per core each replica reached and
// how a cluster is sized from those figures. Notes of whoever ran it come from findings.md.
import { measuredLine, type MachineInfo, type SourceState } from '../harness/machine';
import type { PassSummary } from '../harness/passes';
import { formatNumber, formatSpread, markdownTable, ratio, spread, type Spread } from '../harness/stats';
import { highestLoad, loadAverageTable, machineLoadNote } from '../harness/tables';
import type { EdgeResults, EdgeRun, EdgeServiceResults } from './run';
import { INTROSPECTION_TOKEN_COUNT, UPSTREAM_KEEPALIVE, type EdgeService, type EdgeTargetName } from './targets';

export interface EdgeReportInput {
  results: EdgeResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}

const SERVICE_TITLES: Record<EdgeService, string> = {
  introspection: 'token-introspection, `POST /introspect` (the bank gateway introspects an opaque token)',
  token: "auth-server's token endpoint, `POST /token` (client_credentials with private_key_jwt)",
};
const SHORT: Record<EdgeService, string> = { introspection: 'token-introspection', token: 'auth-server (token)' };
const LABELS: Record<EdgeTargetName, string> = {
  direct: 'direct: replica 1, edge headers sent by the load generator',
  edge: 'through the twin (HTTPS, client certificate) → replica 1',
  edge2: 'through the twin → replicas 1 and 2 (round robin)',
};
/** The HPA settings of charts/obip/values.yaml (and ci/hpa.yaml) the sizing paragraph refers to. */
const CHART_HPA: Record<EdgeService, string> = {
  introspection:
    '`tokenIntrospection.autoscaling`: `minReplicas: 3`, `maxReplicas: 20`, `targetCPUUtilizationPercentage: 60`, CPU request `200m`, limit `2` (ci/hpa.yaml: 3–30 replicas, a 300 s scale-down stabilisation window)',
  token:
    '`authServer.autoscaling`: `minReplicas: 2`, `maxReplicas: 10`, `targetCPUUtilizationPercentage: 70`, CPU request `200m`, limit `2` (ci/hpa.yaml: 2–8 replicas)',
};
const HPA_TARGET: Record<EdgeService, number> = { introspection: 0.6, token: 0.7 };

const services = (results: EdgeResults) =>
  (['introspection', 'token'] as EdgeService[]).flatMap((service) => {
    const measured = results.services[service];
    return measured ? [[service, measured] as const] : [];
  });

/** A spread over the runs of a pass of what `pick` reads from each run; undefined when no run has it. */
function spreadOf(pass: PassSummary, pick: (run: EdgeRun) => number | undefined): Spread | undefined {
  const values = (pass.runs as EdgeRun[]).flatMap((run) => {
    const value = pick(run);
    return value === undefined ? [] : [value];
  });
  return values.length > 0 ? spread(values) : undefined;
}

const processesOf = (run: EdgeRun, role: 'service' | 'nginx') =>
  (run.processes ?? []).filter((process) => process.role === role);
const sumOf = (values: Array<number | undefined>) =>
  values.some((value) => value === undefined) || values.length === 0
    ? undefined
    : values.reduce<number>((sum, value) => sum + value!, 0);
const maxOf = (values: Array<number | undefined>) => {
  const known = values.filter((value): value is number => value !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
};

const serviceCores = (run: EdgeRun) => sumOf(processesOf(run, 'service').map((process) => process.cores));
const nginxCores = (run: EdgeRun) => sumOf(processesOf(run, 'nginx').map((process) => process.cores));
const serviceRss = (run: EdgeRun) => maxOf(processesOf(run, 'service').map((process) => process.rssMiB));
const nginxRss = (run: EdgeRun) => maxOf(processesOf(run, 'nginx').map((process) => process.rssMiB));
/** Requests per second per core the replicas kept busy. */
const perServiceCore = (run: EdgeRun) => ratio(run.requestsPerSecond, serviceCores(run));
/** CPU milliseconds the replicas spent per request. */
const replicaMsPerRequest = (run: EdgeRun) => {
  const cores = serviceCores(run);
  return cores === undefined ? undefined : ratio(cores * 1000, run.requestsPerSecond);
};
/** A difference with its sign, e.g. `+1.50` or `−0.25`. */
const signed = (value: number) => `${value < 0 ? '−' : '+'}${formatNumber(Math.abs(value), 2)}`;
/** CPU milliseconds nginx spent per request. */
const nginxMsPerRequest = (run: EdgeRun) => {
  const cores = nginxCores(run);
  return cores === undefined ? undefined : ratio(cores * 1000, run.requestsPerSecond);
};

const outcome = (pass: PassSummary) => `${pass.errors} / ${pass.non2xx} / ${pass.mismatches}`;
const throughput = (results: EdgeServiceResults, name: EdgeTargetName) => results.peak[name].requestsPerSecond.median;

function passTable(results: EdgeServiceResults, names: EdgeTargetName[], baseline: EdgeTargetName, overLabel: string) {
  return markdownTable(
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors / non-2xx / wrong answer',
      'peak RSS MiB, replica (highest)',
      'peak RSS MiB, nginx',
      'cores busy: replicas',
      'cores busy: nginx',
      overLabel,
    ],
    names.map((name) => {
      const pass = results.peak[name];
      return [
        LABELS[name],
        formatSpread(pass.requestsPerSecond, 0),
        formatSpread(pass.p50, 2),
        formatSpread(pass.p99, 2),
        outcome(pass),
        formatSpread(spreadOf(pass, serviceRss), 0),
        formatSpread(spreadOf(pass, nginxRss), 0),
        formatSpread(spreadOf(pass, serviceCores), 2),
        formatSpread(spreadOf(pass, nginxCores), 2),
        formatNumber(ratio(throughput(results, name), throughput(results, baseline)), 2),
      ];
    }),
  );
}

function loadNote(input: EdgeReportInput): string {
  const measured = services(input.results);
  const first = measured[0]?.[1].loadAverage;
  const last = measured.at(-1)?.[1].loadAverage;
  return machineLoadNote({
    cores: input.machine.cores,
    scenario: first && last ? { before: first.before, after: last.after } : undefined,
    highest: highestLoad(measured.map(([, results]) => results.peak)),
  });
}

export function renderEdgeSection(input: EdgeReportInput): string {
  const { results, machine } = input;
  const { plan } = results;
  const parts = services(results).map(([service, measured]) => {
    const edge = measured.peak.edge;
    const direct = measured.peak.direct;
    const edgeRatio = ratio(edge.requestsPerSecond.median, direct.requestsPerSecond.median);
    return `### ${SERVICE_TITLES[service]}

${passTable(measured, ['direct', 'edge'], 'direct', '× direct')}

Through the edge: ${formatNumber(edgeRatio, 2)} × the direct throughput, p50 ${signed(edge.p50.median - direct.p50.median)} ms and
p99 ${signed(edge.p99.median - direct.p99.median)} ms. CPU per request (medians): nginx ${formatNumber(spreadOf(edge, nginxMsPerRequest)?.median, 3)} ms
(TLS records both ways, the proxying, the forwarded certificate header, the access log); the replica
${formatNumber(spreadOf(direct, replicaMsPerRequest)?.median, 3)} ms direct, ${formatNumber(spreadOf(edge, replicaMsPerRequest)?.median, 3)} ms behind the twin.`;
  });
  return `## Through the nginx edge twin vs. direct (issue 11 scenario 7)

${measuredLine(input.machine, input.source, input.measuredAt)}

${loadNote(input)}

At peak: ${plan.connections} keep-alive connections, as fast as each target answers, ${plan.warmupSeconds} s warm-up then
${plan.durationSeconds} s measured, ${plan.repeats} repeat(s) interleaved (${plan.order.join(', ')}); median (min–max). "Cores busy" is the
CPU time (user + system, from \`/proc/<pid>/stat\`) each process used during the measured run per second of it.

${parts.join('\n\n')}

### What runs

- **direct**: as in scenarios 1 and 2, the load generator sends the edge's headers itself (\`ssl-client-cert\`
  with the caller's URL-encoded certificate, \`ssl-client-verify: SUCCESS\`) over plain HTTP to replica 1's port.
- **through the twin**: libs/testing \`startIngressTwin\`, a real nginx configured as ingress-nginx is from
  \`charts/obip/files/routes.json\` (\`bench/src/edge/targets.ts\`): the mTLS host with \`ssl_verify_client on\`
  against the test CA, the verified certificate forwarded in \`ssl-client-cert\` and \`ssl-client-verify\`
  (a copy sent by the client would be replaced), the ingress-nginx proxy headers, one access-log line per
  request. nginx runs as one process (one worker, \`master_process off\`), HTTP/1.1 with up to ${UPSTREAM_KEEPALIVE} idle
  keep-alive connections to the replicas (\`upstream … keepalive\`, as ingress-nginx keeps them).
- **TLS**: autocannon ${machine.packages.autocannon ?? ''} over HTTPS with the caller's certificate chain and key
  (\`tlsOptions\`, in its own process). Connections are kept alive; nginx closes one after 1,000 requests
  (\`keepalive_requests\`, nginx's default), and autocannon then opens a new one with a full
  handshake (it offers no session ticket), client certificate verification included: at the rates here that is a few
  handshakes a second, as a TPP with a keep-alive pool would cause. TLS 1.3, nginx's default cipher choice.
- **token-introspection**: the bank gateway (a registered resource server authenticating with its
  certificate, \`tls_client_auth\`) introspects ${INTROSPECTION_TOKEN_COUNT} pre-issued opaque tokens, as in scenario 1, answers must be
  \`{"active":true…\`. **auth-server**: client_credentials with a fresh ES256 client assertion per request,
  tokens bound to the TPP's certificate, as in scenario 2 (same settings), answers must start \`{"access_token":"\`;
  before measuring, a token obtained through the twin is checked to be bound to the certificate the caller presented.

${input.findings.trim()}
`;
}

export function renderScaleSection(input: EdgeReportInput): string {
  const { results, machine } = input;
  const measured = services(results);
  const parts = measured.map(([service, serviceResults]) => {
    const scale = ratio(throughput(serviceResults, 'edge2'), throughput(serviceResults, 'edge'));
    return `### ${SHORT[service]}: one replica vs two behind the twin

${passTable(serviceResults, ['edge', 'edge2'], 'edge', '× 1 replica')}

Two replicas: **${formatNumber(scale, 2)} ×** the throughput of one.`;
  });
  const loadTables = measured.map(
    ([service, serviceResults]) =>
      `${SHORT[service]}:\n\n${loadAverageTable(['direct', 'edge', 'edge2'], LABELS, [{ label: 'peak', pass: serviceResults.peak }])}`,
  );
  return `## Scale-out: two replicas behind the nginx twin (issue 11)

${measuredLine(input.machine, input.source, input.measuredAt)}

Both replicas are real processes of the same service on the same Redis (and, for auth-server, the
same FerretDB, the same ClientRegistry stand-in and the same development signing keys), the
second twin balancing over them round robin. Measured in the same interleaved runs as scenario 7.

**Bounded by ${machine.cores} cores.** The load generator, nginx, Redis and both replicas share the machine's
${machine.cores} cores, so the ratio below is not what a second replica adds on a node of its own: whatever
one replica, the load generator, nginx and Redis leave idle is all a second replica can take ("cores busy"
shows where the CPU went; the load generator's own share is not recorded). On separate nodes throughput grows about linearly with replicas until
the shared stores (Redis) or the ingress saturate; the figure that carries over is the throughput per core
busy, below. The 1-minute load average around every run is recorded:

${loadTables.join('\n\n')}

${parts.join('\n\n')}

${renderSizing(input)}
`;
}

/** "How to size a cluster from these figures", with the measured numbers filled in. */
function renderSizing(input: EdgeReportInput): string {
  const rows = services(input.results).map(([service, measured]) => {
    const perCore = spreadOf(measured.peak.direct, perServiceCore)?.median;
    const nginxMs = spreadOf(measured.peak.edge, nginxMsPerRequest)?.median;
    const utilisation = HPA_TARGET[service];
    const example = 5_000;
    const replicas = perCore ? Math.ceil(example / (perCore * utilisation)) + 1 : undefined;
    return {
      service,
      cells: [
        SHORT[service],
        formatNumber(perCore, 0),
        formatNumber(perCore === undefined ? undefined : perCore * 0.8, 0),
        formatNumber(nginxMs, 3),
        `${Math.round(utilisation * 100)} %`,
        `${formatNumber(replicas, 0)}`,
      ],
    };
  });
  return `### How to size a cluster from these figures

${markdownTable(
  [
    'service',
    'req/s per core busy, at peak (direct)',
    'at 80 % of it',
    'edge: nginx CPU ms per request',
    'chart HPA CPU target',
    'replicas for 5,000 req/s at that target, + 1',
  ],
  rows.map((row) => row.cells),
)}

1. **Per-replica throughput per core.** A replica is one Node process: its JavaScript runs on one thread,
   so it uses about one core at most (a little more with GC and libuv threads). The figure to carry to
   other hardware is requests per second per core busy, measured direct (no nginx in the way): the
   first column. Plan at 80 % of it (second column): the issue's "no errors at 80 % of peak" point,
   where latency is still flat; above it queues grow.
2. **Replicas** = ⌈ peak req/s ÷ (per-replica throughput × target utilisation) ⌉ + 1, the + 1 so that
   losing one replica (a node drain, a rollout, a crash) leaves the peak still served. Per-replica
   throughput is the first column times the cores a replica may use (≤ 1 for the JavaScript thread; a
   CPU limit above 1 buys GC headroom, not throughput). Target utilisation is the HPA's: the last
   column shows the result for 5,000 req/s with the chart's default targets. Requests of different
   kinds add: size each service for its own peak (every bank API call is one introspection; every
   TPP token request one token call).
3. **Headroom and the HPA** (\`charts/obip/values.yaml\`): ${CHART_HPA.introspection}; ${CHART_HPA.token}.
   The HPA's utilisation is a percentage of the CPU **request**: at \`200m\` a 60 % target scales out when a
   replica uses 0.12 core, a small fraction of what it can serve. Set \`resources.requests.cpu\` to what a
   replica should use at its planned load (e.g. \`1\`), so the target reads as a share of a core, and keep
   \`minReplicas\` at the + 1 count for the base load (never below 2, the PodDisruptionBudget's
   \`minAvailable: 1\` assumes it). \`maxReplicas\` bounds what Redis and the ingress must carry.
4. **The edge.** nginx's CPU per request through the twin (third column) sizes the ingress controller:
   req/s × ms ÷ 1,000 = cores. TLS handshakes add to it when TPPs do not keep connections alive.
5. **Redis and MongoDB.** Every replica of both services uses the same Redis: an introspection is one
   token-record read (a consent's status comes from consent-service over gRPC, cached up to a second); a client_credentials token
   is a rate-limit count, an atomic replay claim for the assertion's \`jti\` and the token record with its
   index entries (a few round trips). A single Redis core serves on the order of 100,000
   such commands a second, so it carries many replicas before it needs Redis Cluster (supported by
   config); watch its CPU and latency as replicas grow, and size its memory from token lifetimes ×
   issue rate. MongoDB is not on these two paths (grants, sessions and refresh tokens are written by
   the authorisation-code flow, registration by dcr-service): size it from those scenarios.`;
}
