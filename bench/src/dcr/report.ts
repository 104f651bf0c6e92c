// The DCR registration section of bench/README.md (issue 11 scenario 5) from its results: the
// machine and load, the peak and paced tables, the targets that apply to it (each marked
// met or missed from the numbers), the documents each target wrote, what runs, and the
// findings.md beside this file.
import { measuredLine, type MachineInfo, type SourceState } from '../harness/machine';
import type { PassSummary } from '../harness/passes';
import { formatNumber, markdownTable } from '../harness/stats';
import { highestLoad, loadAverageTable, machineLoadNote, pacedTable, peakTable } from '../harness/tables';
import { RSS_LIMIT_MIB, targetTable, type TargetCheck } from '../auth-server/report';
import type { DcrResults } from './run';
import { DCR_SIGNING_ALG, DOCUMENT_COLLECTIONS, type DcrTargetName } from './targets';

const ORDER: DcrTargetName[] = ['obip', 'engine', 'floor'];
const LABELS: Record<DcrTargetName, string> = {
  obip: 'obip dcr-service (`POST /register`)',
  engine: 'engine: bare oidc-provider registration, MongoDB adapter',
  floor: 'floor: node:http + jose + one MongoDB insert',
};

/**
 * Issue 11's targets that apply to registration, from medians (RSS: the highest run). The issue
 * sets no throughput ratio for this scenario: the ratios are reported, not judged.
 */
export function checkDcrTargets(results: Pick<DcrResults, 'peak' | 'paced' | 'plan'>): TargetCheck[] {
  const { peak, paced, plan } = results;
  const rss = peak.obip.rssMiB?.max;
  const failures = (pass: PassSummary) => pass.errors + pass.non2xx + pass.mismatches;
  return [
    {
      name: `errors at ${Math.round(plan.pacedFraction * 100)} % of peak`,
      target: 'none',
      measured: `${paced.obip.errors} / ${paced.obip.non2xx} / ${paced.obip.mismatches} (errors / non-2xx / wrong answer, ${plan.repeats} runs)`,
      met: failures(paced.obip) === 0,
    },
    {
      name: 'RSS of dcr-service at peak',
      target: `< ${RSS_LIMIT_MIB} MiB`,
      measured: `${formatNumber(rss, 0)} MiB (highest run)`,
      met: rss !== undefined && rss < RSS_LIMIT_MIB,
    },
  ];
}

function documentsTable(results: DcrResults): string {
  return markdownTable(
    [
      'target',
      'collections',
      'documents per registration',
      'registrations answered 201 (measured runs)',
      'documents written (whole scenario)',
    ],
    ORDER.map((name) => {
      const documents = results.documents[name];
      return [
        LABELS[name],
        DOCUMENT_COLLECTIONS[name].map((collection) => `\`${collection}\``).join(', '),
        String(documents.perRegistration),
        formatNumber(documents.answered201, 0),
        formatNumber(documents.written, 0),
      ];
    }),
  );
}

export function renderDcrSection(options: {
  results: DcrResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results, machine } = options;
  const { plan, peak, paced } = results;
  const percent = Math.round(plan.pacedFraction * 100);
  const mongo = results.mongoKind === 'ferretdb' ? 'FerretDB 1.x (SQLite backend)' : results.mongoKind;
  const loadNote = machineLoadNote({
    cores: machine.cores,
    scenario: results.loadAverage,
    highest: highestLoad([peak, paced]),
  });
  return `## DCR registration: SSA and request verification, MongoDB write (issue 11 scenario 5)

${measuredLine(machine, options.source, options.measuredAt)}

${loadNote}

### At peak (${plan.connections} keep-alive connections, as fast as each server answers)

${peakTable(ORDER, LABELS, peak, { floor: 'floor', engine: 'engine' })}

### At ${percent} % of each target's own peak rate (paced open-loop generator)

${pacedTable(ORDER, LABELS, paced)}

### Targets

${targetTable(checkDcrTargets(results))}

Issue 11 sets no throughput ratio for registration; the × engine and × floor columns above are
reported, not judged. Every request registers a new client, so each database grows through the run:

${documentsTable(results)}

Documents written include the warm-up runs and the checks before measuring; a run's last requests
in flight may be stored without being counted as answered.

### 1-minute load average around each measured run (before → after)

${loadAverageTable(ORDER, LABELS, [
  { label: 'peak', pass: peak },
  { label: `${percent} %`, pass: paced },
])}

### What runs

- **Requests**: every request to obip and the floor is an OBIE registration request
  (\`application/jose\`): a JWT signed ${DCR_SIGNING_ALG} by the TPP's software key (iss = software_id, aud
  the bank, \`iat\`, \`exp\`, a unique \`jti\`, and the metadata the OBIE conformance tool sends:
  \`private_key_jwt\`, authorization_code + client_credentials + refresh_token, \`code id_token\`,
  \`accounts openid\`) holding a software statement signed ${DCR_SIGNING_ALG} by a test OB directory
  (libs/testing \`createTestDirectory\`), each with its own SSA \`jti\`. Both are signed in the load
  generator's process before its clock starts (\`bench/src/dcr/requests.ts\` through
  \`harness/requests.ts\`), one per request over all connections, never reused: obip refuses an SSA or a
  request it has seen (a reused one would show as non-2xx), so every request registers a new client.
  One software registers again and again: the transport certificate must name the software (CN =
  software_id, OU = org_id), and one certificate reaches each server as ingress-nginx forwards it
  (\`ssl-client-cert\`, \`ssl-client-verify: SUCCESS\`). An answer that does not start as a registration
  answer does (\`{"software_id":"<the software>"\` for obip, \`{"client_id":"\` for the floor,
  \`{"application_type":"web"\` for the engine) is a "wrong answer". ${DCR_SIGNING_ALG} rather than the PS256
  of the OB Directory: signing two RSA-2048 JWTs per request takes ≈ 2 ms, minutes of signing per
  run at the floor's rates; P-256 verifies about 3 × slower than RSA, so with PS256 every server
  does less per request.
- **Load**: autocannon ${machine.packages.autocannon} in a child process, ${plan.connections} keep-alive connections, a
  ${plan.warmupSeconds} s warm-up run, then the ${plan.durationSeconds} s measured run; ${plan.repeats} repeats, interleaved
  (${plan.order.join(', ')}). At ${percent} %: the paced generator (\`harness/paced-load.child.ts\`), evenly
  spaced requests timed from when they were due, the first ${plan.warmupSeconds} s not counted. RSS is the peak
  \`VmRSS\` of the server process during each measured run (every 250 ms).
- **obip**: \`services/dcr-service/src/main.ts\` as a real process (libs/testing \`startServiceProcess\`, run as
  the line at the top of this section says, \`LOG_LEVEL=info\`: one request log line per response, as
  deployed) on a throwaway \`redis-server\`
  and ${mongo}. Per request: Express with request id, security headers, metrics and request logging;
  both rate limits counted in Redis (per address and per certificate, at their maximum, 1,000,000 a
  minute, as one TPP sends everything); the edge certificate header read, parsed and its chain
  verified against the CAs (\`DCR_TRUSTED_CA_FILE\`); the SSA verified against the directory's key set
  and the request against the key set at the SSA's \`software_jwks_endpoint\` (both fetched from the
  directory's loopback key server and cached, \`DCR_JWKS_CACHE_TTL_MS\` 5 min); the certificate bound to
  the software; every OBIE DCR rule on the metadata; the SSA \`jti\` looked up and both \`jti\`s claimed
  in Redis (\`SET NX\`); then two MongoDB inserts (the audit entry, then the client) and the RFC 7591
  answer.
- **engine** (\`bench/src/dcr/engine.server.ts\`): a bare \`oidc-provider\` ${machine.packages['oidc-provider']} with
  \`features.registration\` (RFC 7591, no initial access token) on its own Koa callback on node:http,
  with a minimal MongoDB adapter (one document per model instance, through @obip/mongo's connection):
  a registration writes its \`Client\` and its \`RegistrationAccessToken\`. **It cannot verify an OBIE
  software statement or a signed request**: it is sent the same metadata as plain RFC 7591 JSON, the
  TPP's public key inline (\`jwks\`) and one software statement kept as unverified extra metadata. It
  prices oidc-provider's own metadata validation and storage, without any signature check.
- **floor** (\`bench/src/dcr/floor.server.ts\`): bare node:http; the SSA verified with jose
  ${machine.packages.jose} against the directory's key set (signature, alg, iss, iat within 30 min, jti present),
  the request against the key set the SSA names (fetched once and kept; iss = software_id, aud, exp,
  iat, jti present), the certificate thumbprint hashed from the header (no X.509 parsing or chain),
  one MongoDB insert of the client through @obip/mongo, the same kind of 201 answer. No replay
  detection, rate limits, metadata rules, audit entry, metrics or logs.

All three servers, Redis, ${mongo}, the directory's key server and the load generator share the
machine's ${machine.cores} cores, so absolute figures mostly measure this machine; the ratios compare targets
measured interleaved, under the same conditions.

${options.findings.trim()}
`;
}
