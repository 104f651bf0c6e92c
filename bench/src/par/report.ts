// The PAR section of bench/README.md (../auth-server/report.ts renders it); the profiling notes
// come from findings.md beside this file.
import type { MachineInfo, SourceState } from '../harness/machine';
import { formatNumber } from '../harness/stats';
import { CLIENT_ASSERTION_ALG } from '../auth-server/fixtures';
import { commonChecks, renderEndpointSection, throughputRatio, type TargetCheck } from '../auth-server/report';
import type { EndpointResults as ParResults } from '../auth-server/scenario';

const LABELS = {
  obip: 'obip auth-server (`POST /par`)',
  engine: 'engine: bare oidc-provider, in-memory adapter',
  floor: 'floor: node:http + jose × 2 + one Redis SET',
};

/**
 * Issue 11 sets its throughput ratios for the token endpoint; for PAR they are shown against the
 * same bars for reading, and marked as such, while the common targets (errors, RSS) apply.
 */
export function checkParTargets(results: Pick<ParResults, 'peak' | 'paced' | 'plan'>): TargetCheck[] {
  const vsEngine = throughputRatio(results, 'engine');
  const vsFloor = throughputRatio(results, 'floor');
  return [
    {
      name: "throughput vs the engine alone (the token endpoint's bar, for reading)",
      target: '≥ 0.8 ×',
      measured: `${formatNumber(vsEngine, 2)} ×`,
      met: vsEngine !== undefined && vsEngine >= 0.8,
    },
    {
      name: "throughput vs the floor (the token endpoint's bar, for reading)",
      target: '≥ 0.5 ×',
      measured: `${formatNumber(vsFloor, 2)} ×`,
      met: vsFloor !== undefined && vsFloor >= 0.5,
    },
    ...commonChecks(results),
  ];
}

export function renderParSection(options: {
  results: ParResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results } = options;
  return renderEndpointSection({
    ...options,
    title: 'PAR with a signed request object (issue 11 scenario 3)',
    labels: LABELS,
    checks: checkParTargets(results),
    afterTargets: `ClientRegistry GetClient calls during the whole run (auth-server's client cache at work):
${results.peerCalls.getClient}.`,
    whatRuns: `
- **Requests**: every request is a pushed authorization request (RFC 9126) as a FAPI 2.0 client
  sends it: \`client_id\`, a \`private_key_jwt\` client assertion and \`request\`, a request object
  (RFC 9101, \`typ\` \`oauth-authz-req+jwt\`) holding every authorization parameter: \`response_type=code\`,
  the registered \`redirect_uri\`, \`scope=openid accounts\`, a PKCE S256 challenge, a fresh \`state\` and
  \`jti\`, \`iss\`, \`aud\` (the issuer), \`iat\`, \`nbf\`, \`exp\` (two minutes). Both JWTs are signed ${CLIENT_ASSERTION_ALG}
  by the TPP's registered key in the load generator's process before its clock starts, one pair
  per request, never reused. The TPP's certificate reaches each server in the edge's headers. An
  answer that does not start with \`{"expires_in":\` is a "wrong answer". Load, repeats, the paced
  pass and RSS sampling as for the token endpoint.
- **obip**: the same auth-server process and settings as for the token endpoint
  (\`PAR_RATE_LIMIT_PER_MINUTE\` at its maximum). Per request: what the token endpoint does up to
  client authentication (Express, certificate header, rate limit, client lookup, assertion and its
  atomic replay claim), then the engine's authorization request checks on the verified request
  object, and the \`PushedAuthorizationRequest\` stored in Redis for 60 s.
- **engine**: the same bare oidc-provider (PAR and request objects enabled as in auth-server, the
  static client with \`require_pushed_authorization_requests\`), the request stored in its in-memory
  adapter.
- **floor** (\`bench/src/par/floor.server.ts\`): bare node:http; the client assertion and the request
  object verified with jose against the client's JWKS, the request object's client, response type,
  redirect URI and PKCE method checked, one Redis \`SET … EX 60\` of it, the same JSON answer.`,
  });
}
