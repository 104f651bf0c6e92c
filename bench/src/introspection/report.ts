// bench/README.md from the results: the machine, the tables and the issue's targets, each
// marked met or missed from the numbers, never by hand. The profiling notes come from
// findings.md beside this file (written by whoever profiled, and dated there).
import type { TargetCheck } from '../harness/command';
import { measuredLine, type MachineInfo, type SourceState } from '../harness/machine';
import { formatNumber, formatSpread, markdownTable, ratio } from '../harness/stats';
import type { IntrospectionResults } from './run';
import type { TargetName } from './targets';

const LABELS: Record<TargetName, string> = {
  obip: 'obip token-introspection (`POST /introspect`)',
  engine: 'engine: bare oidc-provider introspection',
  floor: 'floor: bare node:http + Redis GET',
};

/** The three targets of issue 6, from medians. */
export function checkTargets(results: IntrospectionResults): TargetCheck[] {
  const { peak, half } = results;
  const vsEngine = ratio(peak.obip.requestsPerSecond.median, peak.engine.requestsPerSecond.median);
  const vsFloor = ratio(peak.obip.requestsPerSecond.median, peak.floor.requestsPerSecond.median);
  const p99Half = half.obip.p99.median;
  return [
    {
      name: 'throughput vs the engine',
      target: '≥ 1.5 ×',
      measured: `${formatNumber(vsEngine, 2)} ×`,
      met: vsEngine !== undefined && vsEngine >= 1.5,
    },
    {
      name: 'throughput vs the floor',
      target: '≥ 0.5 ×',
      measured: `${formatNumber(vsFloor, 2)} ×`,
      met: vsFloor !== undefined && vsFloor >= 0.5,
    },
    {
      name: 'p99 at half of peak',
      target: '≤ 10 ms',
      measured: `${formatNumber(p99Half, 2)} ms`,
      met: p99Half <= 10,
    },
  ];
}

/** The introspection section of bench/README.md (its findings.md included). */
export function renderIntrospectionSection(options: {
  results: IntrospectionResults;
  machine: MachineInfo;
  measuredAt: string;
  source: SourceState | undefined;
  findings: string;
}): string {
  const { results, machine, measuredAt, source } = options;
  const { plan, peak, half, grpc } = results;
  const order: TargetName[] = ['obip', 'engine', 'floor'];
  const peakTable = markdownTable(
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS MiB', 'errors / non-2xx / not active', '× floor', '× engine'],
    order.map((name) => [
      LABELS[name],
      formatSpread(peak[name].requestsPerSecond, 0),
      formatSpread(peak[name].p50, 2),
      formatSpread(peak[name].p99, 2),
      formatSpread(peak[name].rssMiB, 0),
      `${peak[name].errors} / ${peak[name].non2xx} / ${peak[name].mismatches}`,
      formatNumber(ratio(peak[name].requestsPerSecond.median, peak.floor.requestsPerSecond.median), 2),
      formatNumber(ratio(peak[name].requestsPerSecond.median, peak.engine.requestsPerSecond.median), 2),
    ]),
  );
  const halfTable = markdownTable(
    ['target', 'offered req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'errors / non-2xx / not active'],
    order.map((name) => [
      LABELS[name],
      formatNumber(half[name].offeredRate, 0),
      formatSpread(half[name].requestsPerSecond, 0),
      formatSpread(half[name].p50, 2),
      formatSpread(half[name].p99, 2),
      `${half[name].errors} / ${half[name].non2xx} / ${half[name].mismatches}`,
    ]),
  );
  const grpcTable = markdownTable(
    ['path', 'calls/s', 'p50 ms', 'p99 ms', 'peak RSS MiB', 'errors / not active'],
    [
      [
        `gRPC \`Introspect\`, ${plan.grpcConcurrency} calls in flight`,
        formatSpread(grpc.requestsPerSecond, 0),
        formatSpread(grpc.p50, 2),
        formatSpread(grpc.p99, 2),
        formatSpread(grpc.rssMiB, 0),
        `${grpc.errors} / ${grpc.inactive}`,
      ],
    ],
  );
  const checks = checkTargets(results);
  const targetTable = markdownTable(
    ['issue 6 target', 'target', 'measured (medians)', 'met?'],
    checks.map((check) => [check.name, check.target, check.measured, check.met ? 'yes' : '**no**']),
  );
  return `## Introspection of opaque tokens (issue 6, issue 11 scenario 1)

${measuredLine(machine, source, measuredAt)}

### At peak (${plan.connections} keep-alive connections, as fast as each server answers)

${peakTable}

### At half of each target's own peak rate (paced open-loop generator)

${halfTable}

### gRPC \`introspection.v1.Introspection/Introspect\` (token-introspection's gRPC port)

${grpcTable}

### Targets

${targetTable}

Peer calls during the whole run (the service's caches at work): ${results.peerCalls.getClient} GetClient,
${results.peerCalls.getConsentStatus} GetConsentStatus.

### What runs

- **Load**: autocannon ${machine.packages.autocannon} through its API in a child process
  (\`bench/src/harness/http-load.child.ts\`), ${plan.connections} keep-alive connections, no pipelining. Every request is
  \`POST /introspect\` with \`token\`, \`token_type_hint=access_token\` and \`client_id\`, and the
  ingress-nginx headers \`ssl-client-cert\` (the bank gateway's URL-encoded certificate) and
  \`ssl-client-verify: SUCCESS\`, sent straight to each server's port: what the edge forwards.
  Each connection cycles through every pre-issued token; an answer that does not start with
  \`{"active":true\` is counted as "not active". RSS is the peak \`VmRSS\` of the server
  process, sampled every 250 ms during each measured run. autocannon reports latency in whole
  milliseconds.
- **Half load**: not autocannon's \`overallRate\`, which lets each connection send at full
  speed until its per-second quota is spent and then idle until the next second (bursts at
  peak load: a trial run gave p99 ≈ 90 ms at "half load" for every target, the floor included).
  \`bench/src/harness/paced-load.child.ts\` sends evenly spaced requests at the fixed rate through an
  undici keep-alive pool of the same ${plan.connections} connections and times each from when it was due, so
  queueing counts (no coordinated omission); the first ${plan.warmupSeconds} s are the warm-up.
- **gRPC**: a closed loop in a child process (\`bench/src/harness/grpc-load.child.ts\`, @grpc/grpc-js through @obip/grpc, one
  channel, ${plan.grpcConcurrency} calls in flight; ghz is not installed).
- **Tokens**: half consent-bound (\`authorization_code\`, ${'`'}consent_id${'`'}, \`openbanking_intent_id\`, \`acr\`,
  subject) and half \`client_credentials\`, all certificate-bound (\`cnf.x5t#S256\`), one hour left.
- **obip**: \`services/token-introspection/src/main.ts\` as a real process (libs/testing
  \`startServiceProcess\`, run as the "measured on" line says, \`LOG_LEVEL=info\`), on a throwaway \`redis-server\` (libs/testing
  \`startRedisServer\`), tokens written with \`@obip/token-store\` exactly as auth-server writes them.
  The caller is a resource server authenticating with \`tls_client_auth\` (certificate from the
  header, subject DN compared with the registered one). Its peers are **real gRPC servers in the
  benchmark process** (\`bench/src/introspection/peers.ts\`), not the real dcr-service and
  consent-service: \`clients.v1.ClientRegistry/GetClient\` returns the gateway,
  \`consents.v1.Consents/GetConsentStatus\` returns Authorised. The service caches clients for
  \`CLIENTS_CACHE_MS\` (10 s) and consent statuses for \`CONSENT_STATUS_CACHE_MS\` (1 s, the most
  issue 6 allows) — the defaults — so the peers are called a few times a second (above).
- **engine** (\`bench/src/introspection/engine.server.ts\`): a bare \`oidc-provider\` ${machine.packages['oidc-provider']} with
  \`features.introspection\`, \`features.mTLS\` and \`features.clientCredentials\` on, its own Koa callback on node:http,
  static clients, and a minimal Redis adapter written for the bench (\`engine.redis-adapter.ts\`).
  Tokens are issued through the engine's own models (\`Grant\` + \`AccessToken\` with \`extraTokenClaims\`
  for the consent members, \`ClientCredentials\`). The caller authenticates with the engine's
  \`tls_client_auth\`, fed by the same certificate reader (@obip/http) and the same DN rule as obip: the
  comparable choice (client_secret_basic would skip the certificate parsing obip does on every
  request). The engine's own work per request is more than obip's in one respect: with
  \`token_type_hint=access_token\` it reads \`AccessToken\` and \`ClientCredentials\` in parallel and then
  the token's \`Grant\` (2–3 Redis GETs), while obip reads one record and asks consent-service
  (cached). The engine checks no consent.
- **floor** (\`bench/src/introspection/floor.server.ts\`): bare node:http, the form parsed, the same
  Redis GET of the same key (\`obip:tok:<sha256>\`, \`tokenKeyId\`) through the same client settings
  (@obip/redis), the record parsed with \`parseTokenRecord\` and answered with the same JSON
  members. No authentication, no consent check, no metrics.

All three servers, Redis, the peers and the load generator share the machine's ${machine.cores} cores, so
absolute figures mostly measure this machine; the ratios are what the targets are about.

${options.findings.trim()}
`;
}
