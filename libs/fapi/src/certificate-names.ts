import type { X509Certificate } from 'node:crypto';
import { BadRequestError } from '@obip/errors';
import { displayNameForOid } from './attribute-types';
import { DerError, type Tlv, decodeDirectoryString, decodeOid, readChildren, readTlv } from './der';
import { type AttributeTypeAndValue, type DistinguishedName, formatDistinguishedName } from './distinguished-name';

/**
 * The certificate's subject as an RFC 4514 string (most specific RDN first), read from the DER
 * rather than from OpenSSL's display text, so multi-valued RDNs, escapes and unnamed OIDs come
 * out exactly. A certificate with an empty subject gives `''`.
 *
 * @example
 * subjectDnOf(new X509Certificate(pem)); // 'CN=0015800001041RHAAY,OU=0015800001041RH,O=OpenBanking,C=GB'
 */
export function subjectDnOf(certificate: X509Certificate): string {
  return formatDistinguishedName(certificateNames(certificate).subject);
}

/**
 * The certificate's issuer as an RFC 4514 string.
 *
 * @example
 * issuerDnOf(new X509Certificate(pem)); // 'CN=OpenBanking Issuing CA,O=OpenBanking,C=GB'
 */
export function issuerDnOf(certificate: X509Certificate): string {
  return formatDistinguishedName(certificateNames(certificate).issuer);
}

/** RFC 5280 §4.1: Certificate → tbsCertificate → [version], serial, signature, issuer, validity, subject. */
function certificateNames(certificate: X509Certificate): { issuer: DistinguishedName; subject: DistinguishedName } {
  const der = certificate.raw;
  try {
    const [tbs] = readChildren(der, readTlv(der, 0));
    if (!tbs) throw new DerError('empty certificate');
    const fields = readChildren(der, tbs);
    const first = fields[0]?.tag === 0xa0 ? 1 : 0;
    const issuer = fields[first + 2];
    const subject = fields[first + 4];
    if (!issuer || !subject) throw new DerError('truncated tbsCertificate');
    return { issuer: decodeName(der, issuer), subject: decodeName(der, subject) };
  } catch (error) {
    if (error instanceof DerError || error instanceof TypeError) {
      throw new BadRequestError('certificate name could not be decoded', { code: 'invalid_dn', cause: error });
    }
    throw error;
  }
}

/** RFC 5280 §4.1.2.4: Name ::= SEQUENCE OF SET OF AttributeTypeAndValue. */
function decodeName(der: Buffer, name: Tlv): DistinguishedName {
  if (name.tag !== 0x30) throw new DerError('expected a Name');
  const rdns = readChildren(der, name).map((set) => {
    if (set.tag !== 0x31) throw new DerError('expected an RDN SET');
    return readChildren(der, set).map((pair) => decodeAttribute(der, pair));
  });
  // RFC 4514 §2.1: the string starts with the last RDN of the sequence.
  return rdns.reverse();
}

function decodeAttribute(der: Buffer, pair: Tlv): AttributeTypeAndValue {
  const [typeTlv, valueTlv, extra] = pair.tag === 0x30 ? readChildren(der, pair) : [];
  if (!typeTlv || !valueTlv || extra) throw new DerError('expected AttributeTypeAndValue');
  const oid = decodeOid(der, typeTlv);
  const text = decodeDirectoryString(der, valueTlv);
  // RFC 4514 §2.4: a value with no string form is printed as '#' and the hex of its BER.
  const value = text ?? `#${der.subarray(valueTlv.offset, valueTlv.end).toString('hex')}`;
  return { type: displayNameForOid(oid), oid, value, isHex: text === undefined };
}
