/**
 * Test support, not exported from the lib: mints self-signed certificates with
 * @peculiar/x509 on Node's WebCrypto. Certificates are X.509 v3 with an EC P-256 key.
 */
import { X509Certificate, webcrypto } from 'node:crypto';
import type { JsonName } from '@peculiar/x509';

export interface MintedCertificate {
  der: Buffer;
  /** PEM as OpenSSL writes it: 64-character lines and a final newline. */
  pem: string;
  certificate: X509Certificate;
}

/**
 * @peculiar/x509 resolves its services through tsyringe, which refuses to load without a
 * Reflect metadata API. The few calls it makes are served from a WeakMap here.
 */
function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  reflect.defineMetadata = (key: unknown, value: unknown, target: object) => {
    const entries = store.get(target) ?? new Map<unknown, unknown>();
    entries.set(key, value);
    store.set(target, entries);
  };
  reflect.getOwnMetadata = (key: unknown, target: object) => store.get(target)?.get(key);
  reflect.getMetadata = (key: unknown, target: object) => {
    for (let object: object | null = target; object; object = Object.getPrototypeOf(object) as object | null) {
      const value = store.get(object)?.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

async function loadX509() {
  installReflectMetadata();
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

/**
 * A self-signed certificate whose subject (and issuer) is `name`, given in ASN.1 order as
 * @peculiar/x509's JSON form: `[{ C: ['GB'] }, { O: ['Bank'] }, { CN: ['tpp'], UID: ['1'] }]`.
 */
export async function mintCertificate(name: JsonName): Promise<MintedCertificate> {
  const x509 = await loadX509();
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const generated = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: algorithm,
  });
  const der = Buffer.from(generated.rawData);
  return { der, pem: toPem(der), certificate: new X509Certificate(der) };
}

export function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
