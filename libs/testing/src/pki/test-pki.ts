import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 signs through a WebCrypto provider; Node's is complete (RSA-PSS, ECDSA, RSA).
x509.cryptoProvider.set(webcrypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type KeyAlg = 'RSA' | 'EC';

/** A certificate with its private key, as PEM. */
export interface IssuedCertificate {
  /** The certificate alone. */
  certPem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
  /**
   * The certificate followed by the issuing CA: what a TLS peer presents (nginx
   * `ssl_certificate`, Node `cert`). The root is not included; verifiers hold it.
   */
  chainPem: string;
}

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  /** Subject DN in RFC 4514 form, as nginx prints it: `CN=obip Test Root CA,O=obip test,C=GB`. */
  subject: string;
}

export interface ValidityOptions {
  /** Default: five minutes ago, so small clock skew between processes does not matter. */
  notBefore?: Date;
  /** Default: one day after `notBefore`. */
  notAfter?: Date;
}

export interface IssueTppCertificateOptions extends ValidityOptions {
  /** The TPP's organisation id in the directory, e.g. `0015800001041REAAY`. Becomes OU. */
  orgId: string;
  /** The software statement id, e.g. `5Jh2Bwfzcv1cmTGcGaxVAQ`. Becomes CN. */
  softwareId: string;
  /** Becomes O. Default `OpenBanking`, as on OB directory transport certificates. */
  orgName?: string;
  /** Default `RSA` (2048-bit), as the OB directory issues; `EC` is P-256. */
  keyAlg?: KeyAlg;
}

export interface IssueServerCertificateOptions extends ValidityOptions {
  /** DNS names and IP addresses for the subjectAltName, e.g. `['localhost', '127.0.0.1']`. */
  hostnames: string[];
}

export interface TestPki {
  root: CertificateAuthority;
  issuing: CertificateAuthority;
  /** Root then issuing CA: the trust bundle for client-certificate verification. */
  caBundlePem: string;
  /**
   * A TPP transport (client) certificate shaped like the OB directory's:
   * subject `C=GB, O=<orgName>, OU=<orgId>, CN=<softwareId>` (ASN.1 order; nginx and
   * RFC 4514 print it reversed: `CN=<softwareId>,OU=<orgId>,O=OpenBanking,C=GB`),
   * extendedKeyUsage clientAuth, issued by the issuing CA.
   */
  issueTppCertificate(options: IssueTppCertificateOptions): Promise<IssuedCertificate>;
  /** A TLS server certificate (EC P-256, serverAuth) for the given names, issued by the issuing CA. */
  issueServerCertificate(options: IssueServerCertificateOptions): Promise<IssuedCertificate>;
}

export interface CreateTestPkiOptions {
  /** Distinguishes PKIs in one test (e.g. a foreign CA). Default `obip Test`. */
  name?: string;
  /** How long the CAs are valid. Default 7 days: tests are short; the sandbox keeps its CA longer. */
  caValidityDays?: number;
  /** Reuse these CAs (from {@link savePki}) instead of generating new ones: a sandbox that keeps its data. */
  saved?: SavedPki;
}

/** The CAs of a PKI, with their private keys, for {@link createTestPki}'s `saved`. */
export interface SavedPki {
  name: string;
  root: { certPem: string; keyPem: string };
  issuing: { certPem: string; keyPem: string };
}

/** What {@link createTestPki} needs to rebuild `pki` later. Holds private keys: store it like one. */
export function savePki(pki: TestPki, name: string): SavedPki {
  return {
    name,
    root: { certPem: pki.root.certPem, keyPem: pki.root.keyPem },
    issuing: { certPem: pki.issuing.certPem, keyPem: pki.issuing.keyPem },
  };
}

const RSA_PARAMS = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const EC_PARAMS = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGNING = { name: 'ECDSA', hash: 'SHA-256' };

async function generateKeys(alg: KeyAlg): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(alg === 'RSA' ? RSA_PARAMS : EC_PARAMS, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function validity(options: ValidityOptions): { notBefore: Date; notAfter: Date } {
  const notBefore = options.notBefore ?? new Date(Date.now() - 5 * 60_000);
  return { notBefore, notAfter: options.notAfter ?? new Date(notBefore.getTime() + 24 * 3600_000) };
}

interface Signer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

/**
 * Creates a fresh two-level PKI for one test run, modelled on the OB directory's
 * (root → issuing CA → TPP transport certificates) but with obip's own names:
 * `CN=obip Test Root CA,O=obip test,C=GB` and `CN=obip Test Issuing CA,O=obip test,C=GB`.
 * Keys exist only in memory and in the temp files a test writes; nothing is checked in.
 *
 * @example
 * const pki = await createTestPki();
 * const tpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'abc123' });
 */
export async function createTestPki(options: CreateTestPkiOptions = {}): Promise<TestPki> {
  const name = options.saved?.name ?? options.name ?? 'obip Test';
  const rootSubject = caName(`${name} Root CA`);
  const issuingSubject = caName(`${name} Issuing CA`);
  const { root, issuing } = options.saved
    ? { root: await loadSigner(options.saved.root), issuing: await loadSigner(options.saved.issuing) }
    : await generateCas(rootSubject, issuingSubject, options.caValidityDays ?? 7);
  const rootCert = root.cert;
  const issuingCert = issuing.cert;
  const issuingPem = issuingCert.toString('pem');

  const leaf = async (
    keys: CryptoKeyPair,
    subject: x509.JsonName,
    period: ValidityOptions,
    extensions: x509.Extension[],
  ) => {
    const cert = await issue(issuing, keys, subject, validity(period), [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...extensions,
    ]);
    const certPem = cert.toString('pem');
    return { certPem, keyPem: await privateKeyPem(keys.privateKey), chainPem: `${certPem}\n${issuingPem}\n` };
  };

  return {
    root: {
      certPem: rootCert.toString('pem'),
      keyPem: await privateKeyPem(root.keys.privateKey),
      subject: rootSubject.text,
    },
    issuing: {
      certPem: issuingPem,
      keyPem: await privateKeyPem(issuing.keys.privateKey),
      subject: issuingSubject.text,
    },
    caBundlePem: `${rootCert.toString('pem')}\n${issuingPem}\n`,

    async issueTppCertificate(tpp) {
      const keyAlg = tpp.keyAlg ?? 'RSA';
      const usage =
        keyAlg === 'RSA'
          ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
          : x509.KeyUsageFlags.digitalSignature;
      return leaf(
        await generateKeys(keyAlg),
        [{ C: ['GB'] }, { O: [tpp.orgName ?? 'OpenBanking'] }, { OU: [tpp.orgId] }, { CN: [tpp.softwareId] }],
        tpp,
        [
          new x509.KeyUsagesExtension(usage, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        ],
      );
    },

    async issueServerCertificate(server) {
      const [first] = server.hostnames;
      if (!first) throw new TypeError('issueServerCertificate: at least one hostname is required');
      const names = server.hostnames.map((value) => ({
        type: isIpAddress(value) ? ('ip' as const) : ('dns' as const),
        value,
      }));
      return leaf(await generateKeys('EC'), [{ CN: [first] }, { O: ['obip test'] }], server, [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ]);
    },
  };
}

async function generateCas(
  rootSubject: { asn1: x509.JsonName },
  issuingSubject: { asn1: x509.JsonName },
  validityDays: number,
): Promise<{ root: Signer; issuing: Signer }> {
  const caValidity = {
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + validityDays * 24 * 3600_000),
  };
  const rootKeys = await generateKeys('RSA');
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: rootSubject.asn1,
    keys: rootKeys,
    ...caValidity,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const root: Signer = { cert: rootCert, keys: rootKeys };

  const issuingKeys = await generateKeys('RSA');
  const issuingCert = await issue(root, issuingKeys, issuingSubject.asn1, caValidity, [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
  const issuing: Signer = { cert: issuingCert, keys: issuingKeys };
  return { root, issuing };
}

async function loadSigner(saved: { certPem: string; keyPem: string }): Promise<Signer> {
  const cert = new x509.X509Certificate(saved.certPem);
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(saved.keyPem),
    RSA_PARAMS,
    true,
    ['sign'],
  );
  return { cert, keys: { privateKey, publicKey: await cert.publicKey.export(RSA_PARAMS, ['verify']) } };
}

/** A CA name in ASN.1 order (C, O, CN) and in RFC 4514 order (CN first). */
function caName(commonName: string): { asn1: x509.JsonName; text: string } {
  return {
    asn1: [{ C: ['GB'] }, { O: ['obip test'] }, { CN: [commonName] }],
    text: `CN=${commonName},O=obip test,C=GB`,
  };
}

async function issue(
  signer: Signer,
  keys: CryptoKeyPair,
  subject: string | x509.JsonName,
  period: { notBefore: Date; notAfter: Date },
  extensions: x509.Extension[],
): Promise<x509.X509Certificate> {
  const signingAlgorithm = signer.keys.privateKey.algorithm.name === 'ECDSA' ? EC_SIGNING : RSA_PARAMS;
  return x509.X509CertificateGenerator.create({
    subject,
    issuer: signer.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm,
    ...period,
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey),
    ],
  });
}

function isIpAddress(value: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value.includes(':');
}
