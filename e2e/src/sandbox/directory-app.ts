// The sandbox's mock regulatory directory (issue 10): issues software statements, TPP transport
// certificates and signing keys, and publishes its own and every software's JWKS. Its HTTP API is
// a stable contract that the README documents and that tools and tests rely on:
//   POST /tpps  {"software_client_name", "software_redirect_uris": [...], "software_roles": [...]}
//     → 201 {"org_id", "software_id", "ssa", "transport": {"cert", "key"},
//            "signing": {"kid", "private_jwk"}, "jwks_uri"}
//   GET  /jwks  → the directory's own JWKS (verifies the SSAs)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDirectory, type SigningKey, type TestDirectory, type TestPki } from '@obip/testing';

export interface DirectoryApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly directory: TestDirectory;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024;
const PSD2_ROLES = new Set(['AISP', 'PISP', 'CBPII', 'ASPSP']);

interface TppRequest {
  software_client_name: string;
  software_redirect_uris: string[];
  software_roles: string[];
}

/** Validates a POST /tpps body; undefined with a reason when it is not acceptable. */
export function parseTppRequest(value: unknown): { request: TppRequest } | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'the body must be a JSON object' };
  const body = value as Record<string, unknown>;
  const name = body.software_client_name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) {
    return { error: 'software_client_name must be a non-empty string of at most 100 characters' };
  }
  const uris = body.software_redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > 10 || !uris.every(isHttpsUrl)) {
    return { error: 'software_redirect_uris must be 1 to 10 https URLs' };
  }
  const roles = body.software_roles ?? ['AISP', 'PISP'];
  if (
    !Array.isArray(roles) ||
    roles.length === 0 ||
    !roles.every((role) => typeof role === 'string' && PSD2_ROLES.has(role))
  ) {
    return { error: 'software_roles must list PSD2 roles (AISP, PISP, CBPII)' };
  }
  return {
    request: {
      software_client_name: name,
      software_redirect_uris: uris as string[],
      software_roles: roles as string[],
    },
  };
}

function isHttpsUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

type PublishedKeySets = Record<string, { keys: Array<Record<string, unknown>> }>;

interface DirectoryState {
  signingKey: SigningKey;
  /** Software key sets by key-server path. */
  keySets: PublishedKeySets;
}

function readState(file: string): DirectoryState {
  const state = JSON.parse(readFileSync(file, 'utf8')) as Partial<DirectoryState>;
  if (!state.signingKey?.privateJwk || typeof state.keySets !== 'object' || state.keySets === null) {
    throw new Error(`${file} is not a sandbox directory state: start with --fresh to begin again`);
  }
  return state as DirectoryState;
}

/**
 * Starts the directory on 127.0.0.1. Certificates come from `pki`, the sandbox CA the edge
 * trusts, so a TPP can use them on the mTLS host straight away.
 */
export async function startDirectoryApp(options: {
  pki: TestPki;
  port?: number;
  /** Serve this directory (e.g. the one the e2e platform's dcr-service trusts); a new one by default. */
  directory?: TestDirectory;
  /** Port of the JWKS server; any free one by default. */
  keyServerPort?: number;
  /**
   * Keeps the directory's signing key and every software's published key set here (mode 0600),
   * and restores them at start, so clients registered in an earlier run keep working: the
   * sandbox's data reuse. Needs a fixed `keyServerPort`, since registered clients hold its URLs.
   */
  stateFile?: string;
}): Promise<DirectoryApp> {
  const ownDirectory = options.directory === undefined;
  const saved = options.stateFile && existsSync(options.stateFile) ? readState(options.stateFile) : undefined;
  const directory =
    options.directory ??
    (await createTestDirectory({
      pki: options.pki,
      environment: 'sandbox',
      ...(saved ? { signingKey: saved.signingKey } : {}),
      ...(options.keyServerPort === undefined ? {} : { keyServerPort: options.keyServerPort }),
    }));
  const published: PublishedKeySets = saved?.keySets ?? {};
  for (const [path, jwks] of Object.entries(published)) directory.keyServer.publish(path, jwks);
  const persist = () => {
    if (!options.stateFile) return;
    const state: DirectoryState = { signingKey: directory.signingKey, keySets: published };
    writeFileSync(options.stateFile, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  };
  persist();

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/jwks') return send(200, { keys: [directory.signingKey.publicJwk] });
    if (path !== '/tpps') return send(404, { error: 'not_found' });
    if (req.method !== 'POST') return send(405, { error: 'method_not_allowed' });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(415, { error: 'invalid_request', error_description: 'send application/json' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return send(413, { error: 'invalid_request', error_description: 'body too large' });
      chunks.push(chunk as Buffer);
    }
    let parsed: ReturnType<typeof parseTppRequest>;
    try {
      parsed = parseTppRequest(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      return send(400, { error: 'invalid_request', error_description: 'the body is not JSON' });
    }
    if ('error' in parsed) return send(400, { error: 'invalid_request', error_description: parsed.error });
    const software = await directory.registerSoftware({
      clientName: parsed.request.software_client_name,
      redirectUris: parsed.request.software_redirect_uris,
      roles: parsed.request.software_roles,
    });
    published[new URL(software.jwksUri).pathname] = { keys: [{ ...software.signingKey.publicJwk }] };
    persist();
    send(201, {
      org_id: software.orgId,
      software_id: software.softwareId,
      ssa: directory.issueSsa(software),
      transport: { cert: software.transport!.chainPem, key: software.transport!.keyPem },
      signing: { kid: software.signingKey.kid, private_jwk: software.signingKey.privateJwk },
      jwks_uri: software.jwksUri,
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'server_error' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    directory,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDirectory) await directory.stop();
    },
  };
}
