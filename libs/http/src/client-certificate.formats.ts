/**
 * How each edge proxy writes the client certificate into a header, and how we read it back
 * into DER. Each format says whether a certificate was presented (one line per header: repeats
 * were refused before), then decodes the certificate header's line into the leaf's DER.
 */
import { createHash } from 'node:crypto';
import { type DomainError, UnauthorizedError } from '@obip/errors';

export type ClientCertificateHeaderFormat = 'nginx' | 'xfcc' | 'traefik' | 'rfc9440';

export interface HeaderValues {
  /** The certificate header's single line, or undefined when absent. */
  certificate: string | undefined;
  /** nginx only: the `ssl-client-verify` line, or undefined when absent. */
  verify: string | undefined;
  requireVerified: boolean;
}

export interface HeaderFormat {
  /** Lower-case name of the certificate header. */
  header: string;
  /** Lower-case names of other headers the format reads (checked for repeats and size). */
  companions: readonly string[];
  /**
   * Whether a certificate was presented. Throws when the headers contradict each other (nginx's
   * verify status); so it must run on every request, whatever was cached.
   */
  presented(values: HeaderValues): boolean;
  /**
   * The leaf's DER from the certificate header's line. Depends on that line alone, so a result
   * may be reused for the same line. Throws when the line is not one certificate.
   */
  decode(certificate: string): Buffer;
}

const nonEmpty = ({ certificate }: HeaderValues) => certificate !== undefined && certificate.trim() !== '';

export const NGINX_VERIFY_HEADER = 'ssl-client-verify';

export const HEADER_FORMATS: Record<ClientCertificateHeaderFormat, HeaderFormat> = {
  nginx: {
    header: 'ssl-client-cert',
    companions: [NGINX_VERIFY_HEADER],
    presented: nginxCertificatePresented,
    decode: decodeNginx,
  },
  xfcc: { header: 'x-forwarded-client-cert', companions: [], presented: nonEmpty, decode: decodeXfcc },
  traefik: { header: 'x-forwarded-tls-client-cert', companions: [], presented: nonEmpty, decode: decodeTraefik },
  rfc9440: { header: 'client-cert', companions: [], presented: nonEmpty, decode: decodeRfc9440 },
};

export function refuse(description: string): DomainError {
  return new UnauthorizedError(description, { code: 'invalid_client' });
}

// ---- ingress-nginx: ssl-client-cert ($ssl_client_escaped_cert) + ssl-client-verify ----

/**
 * ingress-nginx sends the URL-encoded PEM leaf and `$ssl_client_verify`: `SUCCESS`,
 * `FAILED:<reason>` or `NONE`. Only an exact `SUCCESS` counts: Node joins repeated lines as
 * `SUCCESS, FAILED:x`, so a prefix test would be exploitable. A certificate beside `NONE`, or
 * beside no verify header at all, was not put there by nginx and is refused. With
 * `requireVerified: false` (nginx `optional_no_ca`, the app verifies the chain itself) a
 * `FAILED:` status is allowed through.
 */
function nginxCertificatePresented({ certificate, verify, requireVerified }: HeaderValues): boolean {
  const present = certificate !== undefined && certificate !== '';
  if (verify === 'NONE') {
    if (present) throw refuse('ssl-client-cert was sent although ssl-client-verify is NONE');
    return false;
  }
  if (verify === 'SUCCESS' && !present) {
    throw refuse(
      'ssl-client-verify is SUCCESS but no ssl-client-cert was forwarded; enable auth-tls-pass-certificate-to-upstream',
    );
  }
  if (requireVerified && verify === undefined && present) {
    throw refuse('ssl-client-cert was sent without ssl-client-verify');
  }
  if (requireVerified && verify !== undefined && verify !== 'SUCCESS') {
    throw refuse(`the client certificate was not verified at the edge (${describeVerifyStatus(verify)})`);
  }
  return present;
}

function decodeNginx(certificate: string): Buffer {
  return pemToDer(decodeUrlComponent(certificate, 'ssl-client-cert'), 'ssl-client-cert');
}

/** The nginx failure reason is useful to a TPP; echo it only when it is short, plain text. */
function describeVerifyStatus(verify: string): string {
  return /^FAILED:[\x20-\x7e]{1,120}$/.test(verify) && !verify.includes(',')
    ? verify
    : 'ssl-client-verify is not SUCCESS';
}

// ---- Envoy / Istio: x-forwarded-client-cert ----

/**
 * Envoy XFCC: comma-separated elements, one per proxy hop, each `key=value` pairs separated by
 * `;`, keys case-insensitive, values with `,;=` double-quoted. We accept exactly one element:
 * the edge must use `forward_client_cert_details: SANITIZE_SET`, which replaces whatever the
 * client sent. With `APPEND_FORWARD` a client-supplied element would come first, so more than
 * one element is refused rather than guessed at. The leaf is the URL-encoded PEM in `Cert`;
 * when `Hash` (hex SHA-256 of the DER) is present it must match.
 */
function decodeXfcc(certificate: string): Buffer {
  const elements = splitOutsideQuotes(certificate, ',');
  if (elements.length !== 1) {
    throw refuse(`x-forwarded-client-cert has ${elements.length} elements; the edge must set it with SANITIZE_SET`);
  }
  const fields = parseXfccElement(elements[0]!);
  const cert = fields.get('cert');
  if (!cert) throw refuse('x-forwarded-client-cert has no Cert field; configure the edge to forward the certificate');
  const der = pemToDer(decodeUrlComponent(cert, 'x-forwarded-client-cert Cert'), 'x-forwarded-client-cert Cert');
  const hash = fields.get('hash');
  if (hash !== undefined && hash.toLowerCase() !== createHash('sha256').update(der).digest('hex')) {
    throw refuse('x-forwarded-client-cert Hash does not match its Cert');
  }
  return der;
}

function parseXfccElement(element: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const pair of splitOutsideQuotes(element, ';')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw refuse('x-forwarded-client-cert is malformed');
    const key = pair.slice(0, equals).trim().toLowerCase();
    const value = unquote(pair.slice(equals + 1).trim());
    // DNS and URI may repeat (one per SAN); we read only single-valued fields.
    if ((key === 'cert' || key === 'hash') && fields.has(key)) {
      throw refuse(`x-forwarded-client-cert repeats ${key === 'cert' ? 'Cert' : 'Hash'}`);
    }
    fields.set(key, value);
  }
  return fields;
}

/** Splits at `separator` outside double quotes; `\"` inside quotes is literal. */
function splitOutsideQuotes(text: string, separator: ',' | ';'): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '\\') i++;
    else if (ch === '"') quoted = !quoted;
    else if (ch === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) throw refuse('x-forwarded-client-cert has an unterminated quoted value');
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) {
    if (value.includes('"')) throw refuse('x-forwarded-client-cert is malformed');
    return value;
  }
  if (value.length < 2 || !value.endsWith('"')) throw refuse('x-forwarded-client-cert is malformed');
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

// ---- Traefik: X-Forwarded-Tls-Client-Cert ----

/**
 * Traefik's passTLSClientCert writes each certificate as base64 DER without PEM armour or line
 * breaks, comma-separated, leaf first. Traefik 2.8–2.9.1 URL-escaped the value
 * (traefik/traefik#9669); a value with `%` escapes is decoded first. Only the leaf is read.
 */
function decodeTraefik(certificate: string): Buffer {
  const value = certificate.includes('%')
    ? decodeUrlComponent(certificate, 'x-forwarded-tls-client-cert')
    : certificate;
  const [leaf = ''] = value.split(',');
  return base64ToDer(leaf.trim(), 'x-forwarded-tls-client-cert');
}

// ---- RFC 9440: Client-Cert ----

/** RFC 9440 §2.2: `Client-Cert` is an sf-binary item, `:` base64 DER `:` (RFC 8941 §3.3.5). */
function decodeRfc9440(certificate: string): Buffer {
  const match = /^:([^:]*):$/.exec(certificate.trim());
  if (!match) throw refuse('client-cert is not a structured-field byte sequence');
  return base64ToDer(match[1]!, 'client-cert');
}

// ---- shared decoding steps ----

function decodeUrlComponent(value: string, header: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw refuse(`${header} is not URL-encoded correctly`);
  }
}

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n-----END CERTIFICATE-----$/;

/** Exactly one PEM CERTIFICATE block (RFC 7468 §5.1), nothing before or after it. */
function pemToDer(pem: string, header: string): Buffer {
  const match = PEM_CERTIFICATE.exec(pem.trim());
  if (!match) throw refuse(`${header} is not a single PEM certificate`);
  return base64ToDer(match[1]!.replace(/\r?\n/g, ''), header);
}

function base64ToDer(base64: string, header: string): Buffer {
  // Buffer.from(…, 'base64') skips bad characters silently; check the alphabet first.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.replace(/=+$/, '').length % 4 === 1) {
    throw refuse(`${header} is not valid base64`);
  }
  return Buffer.from(base64, 'base64');
}
