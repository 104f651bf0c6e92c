// Everything the discovery and JWKS benchmark measures: obip's auth-server and the bare engine
// (../auth-server/targets.ts), and the floor serving obip's own two documents (fetched from it
// at start) from memory, each in its own process; every request a plain GET, as TPPs and
// resource servers send them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadTarget } from '../harness/passes';
import { startChildServer } from '../harness/processes';
import { ISSUER, MTLS_BASE_URL } from '../auth-server/fixtures';
import {
  startAuthServerTargets,
  type AuthServerTargets,
  type StartAuthServerTargetsOptions,
} from '../auth-server/targets';

export type DiscoveryTargetName = 'obip' | 'engine' | 'floor';
export type DocumentName = 'discovery' | 'jwks';

export const DOCUMENT_PATHS: Record<DocumentName, string> = {
  discovery: '/.well-known/openid-configuration',
  jwks: '/jwks',
};
/** What each answer starts with: a JSON object (discovery), a key set (JWKS). */
const EXPECTED_PREFIX: Record<DocumentName, string> = { discovery: '{"', jwks: '{"keys":[' };

export interface DocumentTarget extends LoadTarget {
  name: DiscoveryTargetName;
  document: DocumentName;
}

export interface DiscoveryTargets {
  targets: Record<DocumentName, Record<DiscoveryTargetName, DocumentTarget>>;
  servers: AuthServerTargets;
  stop(): Promise<void>;
}

export async function startDiscoveryTargets(options: StartAuthServerTargetsOptions = {}): Promise<DiscoveryTargets> {
  const servers = await startAuthServerTargets(options);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'obip-bench-docs-'));
    servers.onStop(() => rmSync(dir, { recursive: true, force: true }));
    const files = { discovery: join(dir, 'discovery.json'), jwks: join(dir, 'jwks.json') };
    for (const document of ['discovery', 'jwks'] as const) {
      const response = await fetch(`${servers.obip.origin}${DOCUMENT_PATHS[document]}`);
      if (response.status !== 200) throw new Error(`obip answered ${response.status} for ${document}`);
      writeFileSync(files[document], Buffer.from(await response.arrayBuffer()));
    }
    const floor = await startChildServer<{ port: number }>({
      script: 'bench/src/discovery/floor.server.ts',
      env: { DISCOVERY_FILE: files.discovery, JWKS_FILE: files.jwks },
    });
    servers.onStop(() => floor.stop());

    const origins: Record<DiscoveryTargetName, { origin: string; pid: number }> = {
      obip: servers.obip,
      engine: servers.engine,
      floor: { origin: `http://127.0.0.1:${floor.ready.port}`, pid: floor.pid },
    };
    const targetsOf = (document: DocumentName) =>
      Object.fromEntries(
        (Object.keys(origins) as DiscoveryTargetName[]).map((name) => [
          name,
          {
            name,
            document,
            url: `${origins[name].origin}${DOCUMENT_PATHS[document]}`,
            pid: origins[name].pid,
            requests: { method: 'GET', headers: {}, expectBodyPrefix: EXPECTED_PREFIX[document] },
          } satisfies DocumentTarget,
        ]),
      ) as Record<DiscoveryTargetName, DocumentTarget>;
    return {
      targets: { discovery: targetsOf('discovery'), jwks: targetsOf('jwks') },
      servers,
      stop: () => servers.stop(),
    };
  } catch (error) {
    await servers.stop();
    throw error;
  }
}

/** A target's document, fetched once: its size and parsed content. */
export async function fetchDocument(target: DocumentTarget): Promise<{ bytes: number; json: Record<string, unknown> }> {
  const response = await fetch(target.url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${target.name} answered ${response.status} for ${target.document}`);
  if (!text.startsWith(target.requests.expectBodyPrefix!))
    throw new Error(`${target.name} answered ${text.slice(0, 80)}… for ${target.document}`);
  return { bytes: Buffer.byteLength(text), json: JSON.parse(text) as Record<string, unknown> };
}

/**
 * Checks that a target serves a real document before it is measured: discovery names the
 * issuer, its JWKS, and the token and PAR endpoints (on the mTLS host, as obip advertises
 * them, at least among the mTLS aliases); the JWKS holds the PS256 and ES256 public keys and no
 * private member. Throws with what was wrong.
 */
export async function checkDocumentAnswers(target: DocumentTarget): Promise<void> {
  const { json } = await fetchDocument(target);
  const problems: string[] = [];
  if (target.document === 'discovery') {
    const aliases = (json.mtls_endpoint_aliases ?? {}) as Record<string, unknown>;
    if (json.issuer !== ISSUER) problems.push(`issuer ${String(json.issuer)}`);
    if (json.jwks_uri !== `${ISSUER}/jwks`) problems.push(`jwks_uri ${String(json.jwks_uri)}`);
    if (aliases.token_endpoint !== `${MTLS_BASE_URL}/token`) problems.push('no mTLS token endpoint');
    if (aliases.pushed_authorization_request_endpoint !== `${MTLS_BASE_URL}/par`) problems.push('no mTLS PAR endpoint');
    if (json.tls_client_certificate_bound_access_tokens !== true) problems.push('no certificate-bound tokens');
  } else {
    const keys = (json.keys ?? []) as Array<Record<string, unknown>>;
    const algs = keys.map((key) => key.alg).sort();
    if (JSON.stringify(algs) !== '["ES256","PS256"]') problems.push(`algs ${JSON.stringify(algs)}`);
    if (keys.some((key) => 'd' in key || 'p' in key)) problems.push('a private member is published');
  }
  if (problems.length > 0) throw new Error(`${target.name} ${target.document}: ${problems.join(', ')}`);
}
