// The discovery and JWKS section of bench/README.md from the results: the machine and load, the
// tables, and the issue 11 targets that apply (no errors at 80 % of peak, RSS), each marked met
// or missed from the numbers. The profiling notes come from findings.md beside this file.
import type { MachineInfo, SourceState } from '../harness/machine';
import { formatNumber } from '../harness/stats';
import { highestLoad, loadAverageTable, machineLoadNote, pacedTable, peakTable } from '../harness/tables';
import { measuredLine, RSS_LIMIT_MIB, targetTable, type TargetCheck } from '../auth-server/report';
import { DOCUMENTS, type DiscoveryResults } from './run';
import { DOCUMENT_PATHS, type DiscoveryTargetName, type DocumentName } from './targets';

const ORDER: DiscoveryTargetName[] = ['obip', 'engine', 'floor'];
const TITLES: Record<DocumentName, string> = { discovery: 'Discovery', jwks: 'JWKS' };

function labelsOf(results: DiscoveryResults, document: DocumentName): Record<DiscoveryTargetName, string> {
  const bytes = results.bytes[document];
  const path = `\`GET ${DOCUMENT_PATHS[document]}\``;
  return {
    obip: `obip auth-server (${path}, ${bytes.obip} B)`,
    engine: `engine: bare oidc-provider (${bytes.engine} B)`,
    floor: `floor: node:http, obip's bytes from memory (${bytes.floor} B)`,
  };
}

/** The issue 11 targets that apply to obip's discovery and JWKS (throughput ratios have none). */
export function checkDiscoveryTargets(results: DiscoveryResults): TargetCheck[] {
  const percent = Math.round(results.plan.pacedFraction * 100);
  return DOCUMENTS.flatMap((document) => {
    const { peak, paced } = results.documents[document];
    const rss = peak.obip.rssMiB?.max;
    return [
      {
        name: `${TITLES[document]}: errors at ${percent} % of peak`,
        target: 'none',
        measured: `${paced.obip.errors} / ${paced.obip.non2xx} / ${paced.obip.mismatches} (errors / non-2xx / wrong answer)`,
        met: paced.obip.errors + paced.obip.non2xx + paced.obip.mismatches === 0,
      },
      {
        name: `${TITLES[document]}: RSS of auth-server at peak`,
        target: `< ${RSS_LIMIT_MIB} MiB`,
        measured: `${formatNumber(rss, 0)} MiB (highest run)`,
        met: rss !== undefined && rss < RSS_LIMIT_MIB,
      },
    ];
  });
}

export function renderDiscoverySection(options: {
  results: DiscoveryResults;
  machine: MachineInfo;
  source: SourceState | undefined;
  measuredAt: string;
  findings: string;
}): string {
  const { results, machine, source, measuredAt } = options;
  const { plan } = results;
  const percent = Math.round(plan.pacedFraction * 100);
  const loadNote = machineLoadNote({
    cores: machine.cores,
    scenario: results.loadAverage,
    highest: highestLoad(
      DOCUMENTS.flatMap((document) => [results.documents[document].peak, results.documents[document].paced]),
    ),
  });
  const perDocument = DOCUMENTS.map((document) => {
    const labels = labelsOf(results, document);
    const { peak, paced } = results.documents[document];
    return `### ${TITLES[document]} at peak (${plan.connections} keep-alive connections)

${peakTable(ORDER, labels, peak, { floor: 'floor', engine: 'engine' })}

### ${TITLES[document]} at ${percent} % of each target's own peak rate (paced)

${pacedTable(ORDER, labels, paced)}

### ${TITLES[document]}: 1-minute load average around each measured run (before → after)

${loadAverageTable(ORDER, labels, [
  { label: 'peak', pass: peak },
  { label: `${percent} %`, pass: paced },
])}`;
  }).join('\n\n');

  return `## Discovery and JWKS (issue 11 scenario 6)

${measuredLine(machine, source, measuredAt)}

${loadNote}

${perDocument}

### Targets

Issue 11 sets no throughput ratio for these documents; the ratios above are for reading, the
checks below are the targets that apply to every scenario.

${targetTable(checkDiscoveryTargets(results))}

### What runs

- **Requests**: \`GET /.well-known/openid-configuration\` and \`GET /jwks\`, no headers beyond what
  autocannon sends (a TPP or resource server fetching them), ${plan.connections} keep-alive connections. An answer
  that does not start with \`{"\` (discovery) or \`{"keys":[\` (JWKS) is a "wrong answer". Load, repeats,
  the paced pass and RSS sampling as for the token endpoint above.
- **obip**: the same auth-server process as for the token endpoint (its Express app with request
  ids, security headers, metrics and request logging; the route rewrite of X-Forwarded-Proto/-Host;
  the engine's discovery with auth-server's post-processing: endpoints moved to the mTLS host,
  \`mtls_endpoint_aliases\`, \`require_pushed_authorization_requests\`, admin scopes hidden). Its JWKS is
  the public half of its development keys (one PS256, one ES256).
- **engine**: the same bare oidc-provider as for the token endpoint, configured with the same
  features (so the same discovery members, CIBA included, except auth-server's post-processing:
  its endpoints stay on the public host, with the mTLS ones among the aliases), a JWKS of the same shape
  (RSA-2048 PS256 and P-256 ES256, thumbprint \`kid\`s).
- **floor** (\`bench/src/discovery/floor.server.ts\`): bare node:http serving obip's two documents,
  fetched from obip at start, from memory: the least serving a JSON of that size costs here.

${options.findings.trim()}
`;
}
