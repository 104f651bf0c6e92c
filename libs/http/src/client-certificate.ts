import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DomainError } from '@obip/errors';
import { certificateThumbprintS256, issuerDnOf, subjectDnOf } from '@obip/fapi';
import { type ClientCertificateHeaderFormat, HEADER_FORMATS, refuse } from './client-certificate.formats';
import { type TrustedProxies, createTrustedProxies } from './trusted-proxies';

export type { ClientCertificateHeaderFormat } from './client-certificate.formats';

/** The client certificate the edge terminated mTLS with, as a service sees it. */
export interface ClientCertificate {
  certificate: X509Certificate;
  /** PEM of the leaf, as Node's X509Certificate prints it. Never log it. */
  pem: string;
  /** RFC 4514 string, most specific RDN first (`CN=tpp,O=Bank,C=GB`). */
  subjectDn: string;
  issuerDn: string;
  /** RFC 8705 §3.1 `x5t#S256`. */
  thumbprintS256: string;
}

export interface ClientCertificateReaderOptions {
  /**
   * How the edge forwards the certificate: `nginx` (ingress-nginx `ssl-client-cert` +
   * `ssl-client-verify`), `xfcc` (Envoy/Istio `x-forwarded-client-cert`), `traefik`
   * (`X-Forwarded-Tls-Client-Cert`) or `rfc9440` (`Client-Cert`).
   */
  format: ClientCertificateHeaderFormat;
  /**
   * nginx only: require `ssl-client-verify` to be exactly `SUCCESS`. Default true. Set false
   * only with `auth-tls-verify-client: optional_no_ca`, where the app must verify the chain.
   */
  requireVerified?: boolean;
  /** Largest accepted header value, in bytes. Default 16 KiB. */
  maxHeaderBytes?: number;
  /**
   * Addresses (CIDRs) allowed to send certificate headers, checked against the TCP peer
   * (`req.socket.remoteAddress`). When set, a certificate header from any other peer is
   * refused. Defence in depth behind the NetworkPolicy; does not work on Unix sockets.
   */
  trustedProxyCidrs?: readonly string[];
}

/** Reads the forwarded client certificate; undefined when none was presented. Throws `invalid_client`. */
export type ClientCertificateReader = (req: IncomingMessage) => ClientCertificate | undefined;

const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/**
 * Creates a reader for the client certificate an mTLS-terminating edge forwards in a header.
 * Framework-agnostic: it needs only `req.rawHeaders` and `req.socket`, so a plain node:http
 * hot path can use it as well as the `clientCertificate` Express middleware.
 *
 * Returns undefined when no certificate was presented (no header, or nginx `NONE`). Throws a
 * DomainError (kind `unauthorized`, code `invalid_client`) when the headers cannot be trusted:
 * a header repeated on several lines, a peer outside `trustedProxyCidrs`, a verify status other
 * than exactly `SUCCESS`, a certificate beside `NONE`, an XFCC header with more than one
 * element or without `Cert`, an oversized header, or a value that is not one X.509
 * certificate. Underscore spellings (`ssl_client_cert`) are never read: nginx drops them, Node
 * does not, so only a client could have sent them.
 *
 * @example
 * const readClientCertificate = createClientCertificateReader({ format: 'nginx', trustedProxyCidrs: ['10.0.0.0/8'] });
 * const presented = readClientCertificate(req); // ClientCertificate | undefined
 */
export function createClientCertificateReader(options: ClientCertificateReaderOptions): ClientCertificateReader {
  const format = HEADER_FORMATS[options.format];
  if (!format) throw new TypeError(`unknown client certificate header format ${JSON.stringify(options.format)}`);
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes <= 0)
    throw new TypeError('maxHeaderBytes must be a positive integer');
  const requireVerified = options.requireVerified ?? true;
  const trustedProxies = options.trustedProxyCidrs ? createTrustedProxies(options.trustedProxyCidrs) : undefined;
  const headerNames = [format.header, ...format.companions];
  // Parsed certificates by the exact header value that carried them, a bounded number of them.
  const parsedCertificates = createBoundedCache<ClientCertificate>(1_000);

  return function readClientCertificate(req) {
    const lines = headerNames.map((name) => headerLines(req, name));
    if (lines.every((found) => found.length === 0)) return undefined;
    refuseUntrustedPeer(req, trustedProxies);
    headerNames.forEach((name, index) => refuseRepeatedOrOversized(name, lines[index]!, maxHeaderBytes));
    const certificateHeader = lines[0]![0];
    const presented = format.presented({
      certificate: certificateHeader,
      verify: options.format === 'nginx' ? lines[1]![0] : undefined,
      requireVerified,
    });
    if (!presented || certificateHeader === undefined) return undefined;
    // The same TPP presents the same certificate on every call: decoding the header, parsing
    // the certificate, its DNs and its thumbprint once per distinct header value takes that work
    // off the hot path. The checks above (repeats, peer, verify status) run on every request;
    // a value that fails to decode or parse is never cached, so it is refused every time.
    return parsedCertificates.get(certificateHeader, () => toClientCertificate(format.decode(certificateHeader)));
  };
}

function createBoundedCache<T>(maxEntries: number) {
  const entries = new Map<string, T>();
  return {
    get(key: string, compute: () => T): T {
      const found = entries.get(key);
      if (found !== undefined) return found;
      const value = compute();
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(key, value);
      return value;
    },
  };
}

/**
 * Every line of a header, from `rawHeaders` (Node's joined `req.headers` value would hide a
 * repeat). Names compare case-insensitively; `ssl_client_cert` is a different name.
 */
function headerLines(req: IncomingMessage, name: string): string[] {
  const found: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === name) found.push(raw[i + 1]!);
  }
  return found;
}

function refuseUntrustedPeer(req: IncomingMessage, trustedProxies: TrustedProxies | undefined): void {
  if (trustedProxies && !trustedProxies.includes(req.socket?.remoteAddress)) {
    throw refuse('client certificate headers are accepted only from the trusted edge proxy');
  }
}

/** The edge overwrites its header, so it sends exactly one line; more means a client added one. */
function refuseRepeatedOrOversized(name: string, lines: readonly string[], maxHeaderBytes: number): void {
  if (lines.length > 1) throw refuse(`the ${name} header is repeated`);
  if (lines[0] !== undefined && Buffer.byteLength(lines[0]) > maxHeaderBytes) {
    throw refuse(`the ${name} header is larger than ${maxHeaderBytes} bytes`);
  }
}

function toClientCertificate(der: Buffer): ClientCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    throw refuse('the forwarded client certificate is not an X.509 certificate');
  }
  // X509Certificate also accepts PEM and ignores bytes after the DER; accept exact DER only.
  if (!certificate.raw.equals(der)) throw refuse('the forwarded client certificate has unexpected extra data');
  try {
    return Object.freeze({
      certificate,
      pem: certificate.toString(),
      subjectDn: subjectDnOf(certificate),
      issuerDn: issuerDnOf(certificate),
      thumbprintS256: certificateThumbprintS256(certificate),
    });
  } catch (error) {
    if (error instanceof DomainError) throw refuse('the forwarded client certificate has names that cannot be read');
    throw error;
  }
}
