// The token endpoint section of bench/README.md (../auth-server/report.ts renders it), with
// issue 11's targets for scenario 2; the profiling notes come from findings.md beside this file.
import type { MachineInfo, SourceState } from '../harness/machine';
import { formatNumber } from '../harness/stats';
import { CLIENT_ASSERTION_ALG, CLIENT_CREDENTIALS_SCOPE } from '../auth-server/fixtures';
import { commonChecks, renderEndpointSection, throughputRatio, type TargetCheck } from '../auth-server/report';
import type { EndpointResults as TokenResults } from '../auth-server/scenario';

export type { TargetCheck } from '../auth-server/report';
export { RSS_LIMIT_MIB } from '../auth-server/report';

const LABELS = {
  obip: 'obip auth-server (`POST /token`)',
  engine: 'engine: bare oidc-provider, in-memory adapter',
  floor: 'floor: node:http + jose + one Redis SET',
};

/** Issue 11's targets for the token endpoint, from medians (RSS: the highest run). */
export function checkTokenTargets(results: Pick<TokenResults, 'peak' | 'paced' | 'plan'>): TargetCheck[] {
  const vsEngine = throughputRatio(results, 'engine');
  const vsFloor = throughputRatio(results, 'floor');
  return [
    {
      name: 'throughput vs the engine alone',
      target: '≥ 0.8 ×',
      measured: `${formatNumber(vsEngine, 2)} ×`,
      met: vsEngine !== undefined && vsEngine >= 0.8,
    },
    {
      name: 'throughput vs the floor',
      target: '≥ 0.5 ×',
      measured: `${formatNumber(vsFloor, 2)} ×`,
      met: vsFloor !== undefined && vsFloor >= 0.5,
    },
    ...commonChecks(results),
  ];
}

export function renderTokenSection(options: {
  results: TokenResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results, machine } = options;
  const { plan } = results;
  const percent = Math.round(plan.pacedFraction * 100);
  return renderEndpointSection({
    ...options,
    title: 'Token endpoint: client_credentials with private_key_jwt (issue 11 scenario 2)',
    labels: LABELS,
    checks: checkTokenTargets(results),
    afterTargets: `ClientRegistry GetClient calls during the whole run (auth-server's client cache at work):
${results.peerCalls.getClient}.`,
    whatRuns: `
- **Requests**: every request is a client_credentials grant (\`grant_type=client_credentials\`,
  \`scope=${CLIENT_CREDENTIALS_SCOPE}\`, \`client_id\`) authenticated with \`private_key_jwt\`: a client assertion
  signed ${CLIENT_ASSERTION_ALG} by the TPP's registered key, \`aud\` the issuer (FAPI 2.0), a unique \`jti\`, two
  minutes to live. The assertions are signed in the load generator's process before its clock starts
  (\`bench/src/auth-server/assertions.ts\` through \`harness/requests.ts\`), one per request over all
  connections, never reused (the count is sized from the previous run's rate with a 2 × margin; a
  reused one would show as non-2xx). The TPP's transport certificate reaches each server as
  ingress-nginx forwards it (\`ssl-client-cert\`, \`ssl-client-verify: SUCCESS\`), and every token is bound
  to it (\`cnf.x5t#S256\`). An answer that does not start with \`{"access_token":"\` is a "wrong answer".
  ES256 rather than the PS256 of Open Banking UK: signing the ≈ 100,000 RSA-2048 assertions of a
  floor run would keep the load generator busy for over a minute; RSA verifies about 3 × faster than
  P-256, so with PS256 every server does less per request.
- **Load**: autocannon ${machine.packages.autocannon} in a child process, ${plan.connections} keep-alive connections, a
  ${plan.warmupSeconds} s warm-up run, then the ${plan.durationSeconds} s measured run; ${plan.repeats} repeats, interleaved
  (${plan.order.join(', ')}). At ${percent} %: the paced generator (\`harness/paced-load.child.ts\`), evenly
  spaced requests timed from when they were due, the first ${plan.warmupSeconds} s not counted; it also records how late
  it sent each request after it was due (its own lag: a few milliseconds means it kept up, more means it
  was short of CPU and the latencies are partly its own). RSS is the peak
  \`VmRSS\` of the server process during each measured run (every 250 ms).
- **obip**: \`services/auth-server/src/main.ts\` as a real process (libs/testing \`startServiceProcess\`, run as
  the "measured on" line says, \`LOG_LEVEL=info\`: one request log line per response, as deployed), on a throwaway
  \`redis-server\` and FerretDB (libs/testing; MongoDB holds grants and refresh tokens, which this
  grant does not touch), development signing keys. Per request: Express with request id, security
  headers, metrics and request logging; the edge certificate header read and checked
  (\`TRUSTED_PROXY_CIDRS=127.0.0.1/32\`); the per-client rate limit counted in Redis
  (\`TOKEN_RATE_LIMIT_PER_MINUTE\` at its maximum, 100,000, as one client sends everything); the engine's
  client lookup through the dcr-service adapter (a gRPC \`ClientRegistry/GetClient\` to a stand-in in
  the benchmark process, \`bench/src/auth-server/peers.ts\`, cached for \`CLIENT_CACHE_TTL_MS\`, 30 s), the
  FAPI 2.0 profile's metadata derived once per registry answer; assertion verification; the atomic replay
  claim in Redis; the \`ClientCredentials\` model and its libs/token-store introspection record
  (record, client index and revocation check) in Redis.
- **engine** (\`bench/src/auth-server/engine.server.ts\`): a bare \`oidc-provider\` ${machine.packages['oidc-provider']} with its
  default in-memory adapter, one static client (the same metadata, JWKS and FAPI 2.0 additions),
  configured like auth-server where the grant goes (FAPI 2.0 profile, client auth methods and
  algorithms, mTLS certificate-bound tokens with the same certificate reader, resource indicators,
  10 s clock tolerance, the same routes and lifetimes), on its own Koa callback on node:http.
  Missing on purpose: Express, the rate limit, the adapters and their lookups, token records, the
  atomic replay claim (the in-memory adapter's find-then-save), metrics and logs — what the "≥ 0.8 ×
  the engine alone" target prices.
- **floor** (\`bench/src/token/floor.server.ts\`): bare node:http; the form parsed, the assertion
  verified with jose ${machine.packages.jose} against the client's JWKS (signature, alg, iss = sub = client_id, aud, exp,
  jti present), the certificate thumbprint hashed from the header (no X.509 parsing), one Redis
  \`SET … EX\` of a token record, the same JSON answer. No replay detection, no client lookup.`,
  });
}
