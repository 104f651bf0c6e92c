/**
 * Attribute types a distinguished name may name, by OID. The first name is the one we print
 * (RFC 4514 §3 table where it has one, otherwise the X.520 / OpenSSL name); the others are
 * accepted aliases, matched case-insensitively (RFC 4512 §1.4: descriptors are
 * case-insensitive).
 */
const ATTRIBUTE_TYPES: ReadonlyArray<readonly [oid: string, ...names: string[]]> = [
  ['2.5.4.3', 'CN', 'commonName'],
  ['2.5.4.4', 'SN', 'surname'],
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.6', 'C', 'countryName'],
  ['2.5.4.7', 'L', 'localityName'],
  ['2.5.4.8', 'ST', 'stateOrProvinceName', 'S'],
  ['2.5.4.9', 'STREET', 'streetAddress'],
  ['2.5.4.10', 'O', 'organizationName'],
  ['2.5.4.11', 'OU', 'organizationalUnitName'],
  ['2.5.4.12', 'title'],
  ['2.5.4.15', 'businessCategory'],
  ['2.5.4.17', 'postalCode'],
  ['2.5.4.42', 'GN', 'givenName'],
  ['2.5.4.43', 'initials'],
  ['2.5.4.44', 'generationQualifier'],
  ['2.5.4.46', 'dnQualifier'],
  ['2.5.4.65', 'pseudonym'],
  // X.520 organizationIdentifier: eIDAS / OBIE certificates carry e.g. PSDGB-FCA-123456 here.
  ['2.5.4.97', 'organizationIdentifier'],
  ['0.9.2342.19200300.100.1.1', 'UID', 'userId'],
  ['0.9.2342.19200300.100.1.25', 'DC', 'domainComponent'],
  ['1.2.840.113549.1.9.1', 'emailAddress', 'E', 'email'],
  ['1.3.6.1.4.1.311.60.2.1.1', 'jurisdictionL', 'jurisdictionLocalityName'],
  ['1.3.6.1.4.1.311.60.2.1.2', 'jurisdictionST', 'jurisdictionStateOrProvinceName'],
  ['1.3.6.1.4.1.311.60.2.1.3', 'jurisdictionC', 'jurisdictionCountryName'],
];

const nameByOid = new Map<string, string>();
const oidByAlias = new Map<string, string>();
for (const [oid, ...names] of ATTRIBUTE_TYPES) {
  nameByOid.set(oid, names[0] ?? oid);
  for (const name of names) oidByAlias.set(name.toLowerCase(), oid);
}

/** The OID a descriptor stands for, or undefined when the descriptor is unknown. */
export function oidForDescriptor(descriptor: string): string | undefined {
  return oidByAlias.get(descriptor.toLowerCase());
}

/** The name to print for an OID: its short name when known, else the dotted OID (RFC 4514 §2.3). */
export function displayNameForOid(oid: string): string {
  return nameByOid.get(oid) ?? oid;
}
