// A TPP's openid-client set-up for obip: private_key_jwt with the software's signing key, the
// transport certificate on the mTLS host (RFC 8705 endpoint aliases), the sandbox CA trusted.
// Shared by the e2e suite, the demo TPP app and anything else that acts as a registered client.
import type { webcrypto } from 'node:crypto';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';

export interface RelyingPartyOptions {
  issuer: string;
  clientId: string;
  /** The software's signing key (PS256 or ES256) as a private JWK, and its kid. */
  signing: { kid: string; alg: 'PS256' | 'ES256'; privateJwk: webcrypto.JsonWebKey };
  /** The transport certificate (with its chain) and key, PEM. */
  transport: { certPem: string; keyPem: string };
  /** The CA bundle that issued the edge's server certificates. */
  caPem: string;
}

export interface RelyingParty {
  config: oidc.Configuration;
  /** An undici agent presenting the transport certificate, for resource calls (bank API, intents). */
  mtls: Agent;
  close(): Promise<void>;
}

/** Imports a private JWK for signing client assertions and request objects. */
export function importSigningKey(signing: RelyingPartyOptions['signing']): Promise<webcrypto.CryptoKey> {
  return crypto.subtle.importKey(
    'jwk',
    signing.privateJwk,
    signing.alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSA-PSS', hash: 'SHA-256' },
    false,
    ['sign'],
  );
}

/**
 * Discovers the issuer and returns a configuration whose calls to the mTLS host present the
 * transport certificate and whose other calls (the public host) present none.
 */
export async function createRelyingParty(options: RelyingPartyOptions): Promise<RelyingParty> {
  const mtls = new Agent({
    connect: { ca: options.caPem, cert: options.transport.certPem, key: options.transport.keyPem },
  });
  const anonymous = new Agent({ connect: { ca: options.caPem } });
  const through = (dispatcher: Agent): oidc.CustomFetch =>
    ((url, init) => undiciFetch(url, { ...init, dispatcher }) as unknown as Promise<Response>) as oidc.CustomFetch;
  const key = await importSigningKey(options.signing);
  // Discovery is on the public host; the metadata then says which endpoints are on the mTLS host.
  const config = await oidc.discovery(
    new URL(options.issuer),
    options.clientId,
    { use_mtls_endpoint_aliases: true },
    oidc.PrivateKeyJwt({ key, kid: options.signing.kid } as unknown as oidc.PrivateKey),
    { [oidc.customFetch]: through(anonymous) },
  );
  const aliases = config.serverMetadata().mtls_endpoint_aliases;
  const anAlias = aliases?.token_endpoint ?? aliases?.pushed_authorization_request_endpoint;
  const mtlsOrigin = anAlias ? new URL(anAlias).origin : undefined;
  const edgeFetch: oidc.CustomFetch = (url, init) =>
    through(new URL(url).origin === mtlsOrigin ? mtls : anonymous)(url, init);
  config[oidc.customFetch] = edgeFetch;
  return {
    config,
    mtls,
    async close() {
      await Promise.all([mtls.close(), anonymous.close()]);
    },
  };
}
