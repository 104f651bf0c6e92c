import { BadRequestError, type DomainError } from '@obip/errors';
import { displayNameForOid, oidForDescriptor } from './attribute-types';
import { DerError, decodeDirectoryString, nameValueUtf8, readTlv } from './der';

/** One `type=value` pair of a distinguished name. */
export interface AttributeTypeAndValue {
  /** The printed name: `CN`, `organizationIdentifier`, or the dotted OID when it has no name. */
  readonly type: string;
  /** The dotted OID, whatever spelling the input used (`CN`, `commonName`, `2.5.4.3`). */
  readonly oid: string;
  /** The unescaped text, or `#` and lower-case hex for a value with no string form. */
  readonly value: string;
  /** True when `value` is the `#hex` BER form (RFC 4514 §2.4), compared byte for byte. */
  readonly isHex: boolean;
}

/** One RDN: usually a single pair, several when multi-valued (`CN=a+UID=b`). */
export type RelativeDistinguishedName = readonly AttributeTypeAndValue[];

/** RDNs in RFC 4514 order: the most specific (e.g. `CN`) first, as the string form writes them. */
export type DistinguishedName = readonly RelativeDistinguishedName[];

export interface DistinguishedNameComparison {
  /**
   * Compare the RDNs as a set rather than a sequence. RFC 4517 §4.2.15 distinguishedNameMatch
   * is order-sensitive; this tolerates registrations that list RDNs in ASN.1 order
   * (`C=GB,O=Bank,CN=tpp`) instead of RFC 4514 order. Each RDN still matches as a whole.
   */
  orderInsensitive?: boolean;
}

/** Longer input is refused before parsing; real subject names are a few hundred characters. */
const MAX_DN_LENGTH = 8192;

/**
 * Parses a distinguished name string into RDNs, in RFC 4514 order.
 *
 * Accepts the RFC 4514 / RFC 2253 form (`CN=tpp,O=Bank,C=GB`) with: `;` as well as `,` between
 * RDNs and whitespace around separators (RFC 2253 §4); `\,`-style and `\2C`-style escapes, the
 * latter decoded as UTF-8 bytes (RFC 4514 §3); quoted values (RFC 2253 §4); `#hex` BER values
 * (RFC 4514 §2.4, decoded when they hold a string); types by name (case-insensitive, with
 * aliases such as `commonName`) or by OID (`2.5.4.3`, `OID.2.5.4.3`).
 *
 * Also accepts the OpenSSL one-line form that nginx's `$ssl_client_s_dn_legacy` emits
 * (`/C=GB/O=Bank/CN=tpp`). That form is written in ASN.1 order and escapes nothing, so it is
 * split only at a `/` or `+` that is followed by `type=`, `\xHH` is read as a byte, and the
 * result is reversed into RFC 4514 order.
 *
 * An empty string is the empty DN (no RDNs). Throws a DomainError with code `invalid_dn`
 * (kind `bad_request`) on malformed input or an unknown attribute name; a caller that takes
 * the DN from client metadata rethrows it with its own code, e.g. `invalid_client_metadata`.
 *
 * @example
 * parseDistinguishedName('CN=tpp\\, Ltd+UID=1,O=Bank');
 * // [[{type:'CN', value:'tpp, Ltd', …}, {type:'UID', value:'1', …}], [{type:'O', value:'Bank', …}]]
 */
export function parseDistinguishedName(dn: string): DistinguishedName {
  if (typeof dn !== 'string') throw invalidDn('a distinguished name must be a string');
  if (dn.length > MAX_DN_LENGTH) throw invalidDn(`longer than ${MAX_DN_LENGTH} characters`);
  const text = trimOutsideEscapes(dn);
  if (text === '') return [];
  return text.startsWith('/') ? parseSlashForm(text) : parseCommaForm(text);
}

/**
 * The RFC 4514 string of a parsed DN: RDNs joined with `,`, multi-valued RDNs with `+`, no
 * spaces, values escaped as RFC 4514 §2.4 requires (plus control characters as `\XX`).
 *
 * @example
 * formatDistinguishedName(parseDistinguishedName('/C=GB/O=Bank/CN=tpp')); // 'CN=tpp,O=Bank,C=GB'
 */
export function formatDistinguishedName(dn: DistinguishedName): string {
  return dn.map((rdn) => rdn.map(formatAttribute).join('+')).join(',');
}

/**
 * The canonical spelling of a DN: RFC 4514 order and escaping, printed type names, no spaces
 * around separators, the pairs of a multi-valued RDN sorted by OID. Value case and inner
 * spacing are kept; `distinguishedNamesEqual` applies the matching rule.
 *
 * @example
 * normalizeDistinguishedName(' cn = tpp ; o=Bank '); // 'CN=tpp,O=Bank'
 */
export function normalizeDistinguishedName(dn: string): string {
  return formatDistinguishedName(parseDistinguishedName(dn).map(sortRdn));
}

/**
 * Whether two DNs name the same entity, per RFC 4517 §4.2.15 distinguishedNameMatch with every
 * value compared by the caseIgnoreMatch rule (RFC 4517 §4.2.11, string preparation after
 * RFC 4518 §2): Unicode NFKC, runs of whitespace collapsed to one space, leading and trailing
 * space removed, then compared case-insensitively. caseIgnoreMatch is the equality rule of
 * every attribute in our table (CN, O, OU, C, L, ST, UID, organizationIdentifier, …). Types
 * match by OID, so `CN`, `commonName` and `2.5.4.3` are the same. `#hex` values that hold no
 * string compare byte for byte. The pairs of a multi-valued RDN match in any order.
 *
 * An empty DN never matches anything, itself included, so a certificate without a subject
 * cannot satisfy a registration that lacks one. Malformed input throws (`invalid_dn`).
 *
 * @example
 * distinguishedNamesEqual('CN=TPP  Ltd,O=Bank', 'cn=tpp ltd, o=BANK'); // true
 * distinguishedNamesEqual('C=GB,CN=tpp', 'CN=tpp,C=GB', { orderInsensitive: true }); // true
 */
export function distinguishedNamesEqual(
  a: string | DistinguishedName,
  b: string | DistinguishedName,
  options: DistinguishedNameComparison = {},
): boolean {
  const left = (typeof a === 'string' ? parseDistinguishedName(a) : a).map(rdnMatchKey);
  const right = (typeof b === 'string' ? parseDistinguishedName(b) : b).map(rdnMatchKey);
  if (left.length === 0 || left.length !== right.length) return false;
  if (options.orderInsensitive) {
    left.sort();
    right.sort();
  }
  return left.every((key, index) => key === right[index]);
}

// ---- matching ----

function rdnMatchKey(rdn: RelativeDistinguishedName): string {
  const keys = rdn.map((ava) => [ava.oid, ava.isHex ? ava.value.toLowerCase() : prepareForCaseIgnore(ava.value)]);
  keys.sort(([oidA, valueA], [oidB, valueB]) => compareStrings(`${oidA}=${valueA}`, `${oidB}=${valueB}`));
  return JSON.stringify(keys);
}

/** RFC 4518 §2 in brief: normalise (NFKC), fold case, collapse insignificant space. */
function prepareForCaseIgnore(value: string): string {
  return value.normalize('NFKC').replace(/\s+/gu, ' ').trim().toUpperCase().toLowerCase();
}

function sortRdn(rdn: RelativeDistinguishedName): RelativeDistinguishedName {
  return [...rdn].sort((x, y) => compareStrings(`${x.oid}=${x.value}`, `${y.oid}=${y.value}`));
}

function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---- formatting ----

function formatAttribute(ava: AttributeTypeAndValue): string {
  return `${ava.type}=${ava.isHex ? ava.value : escapeValue(ava.value)}`;
}

/** RFC 4514 §2.4: escape `"+,;<>\`, a leading space or `#`, a trailing space; NUL as `\00`. */
function escapeValue(value: string): string {
  const chars = Array.from(value);
  return chars
    .map((ch, index) => {
      if ('"+,;<>\\'.includes(ch)) return `\\${ch}`;
      if (index === 0 && (ch === ' ' || ch === '#')) return `\\${ch}`;
      if (index === chars.length - 1 && ch === ' ') return '\\ ';
      const code = ch.codePointAt(0)!;
      // Other trailing whitespace (e.g. U+00A0) as UTF-8 hex, so the parser's trim keeps it.
      if (index === chars.length - 1 && code > 0x7f && /\s/u.test(ch)) return hexEscape(ch);
      // Control characters are escaped too, so a printed DN is always one safe line.
      if (code < 0x20 || code === 0x7f) return `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
      return ch;
    })
    .join('');
}

function hexEscape(ch: string): string {
  return Array.from(Buffer.from(ch, 'utf8'), (byte) => `\\${byte.toString(16).toUpperCase()}`).join('');
}

// ---- parsing: RFC 4514 / RFC 2253 comma form ----

/**
 * Leading and trailing whitespace is not part of a DN, except a trailing character the last
 * value escapes: `CN=tpp\ ` ends in a space that belongs to the value (RFC 4514 §2.4).
 */
function trimOutsideEscapes(dn: string): string {
  const start = dn.trimStart();
  const text = start.trimEnd();
  const escaped = text.length < start.length && /(?:^|[^\\])(?:\\\\)*\\$/.test(text);
  return escaped ? start.slice(0, text.length + 1) : text;
}

interface Cursor {
  readonly text: string;
  pos: number;
}

const NUMERIC_OID = /(?:oid\.)?((?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+)(?![0-9A-Za-z.-])/iy;
const DESCRIPTOR = /[A-Za-z][A-Za-z0-9-]*/y;
const HEX_VALUE = /#([0-9A-Fa-f]+)/y;
const SPECIALS = '"+,;<>\\ #=';
const HEX_DIGIT = /^[0-9A-Fa-f]$/;

function parseCommaForm(text: string): RelativeDistinguishedName[] {
  const cursor: Cursor = { text, pos: 0 };
  const rdns: RelativeDistinguishedName[] = [];
  for (;;) {
    const rdn: AttributeTypeAndValue[] = [];
    for (;;) {
      rdn.push(readAttributeTypeAndValue(cursor));
      if (cursor.text[cursor.pos] !== '+') break;
      cursor.pos++;
    }
    rdns.push(rdn);
    if (cursor.pos >= text.length) return rdns;
    // readAttributeValue stops only at a separator or the end.
    cursor.pos++;
  }
}

function readAttributeTypeAndValue(cursor: Cursor): AttributeTypeAndValue {
  skipSpaces(cursor);
  const oid = readAttributeType(cursor);
  skipSpaces(cursor);
  if (cursor.text[cursor.pos] !== '=') throw invalidDn(`expected '=' at position ${cursor.pos}`);
  cursor.pos++;
  skipSpaces(cursor);
  const { value, isHex } = readAttributeValue(cursor);
  return { type: displayNameForOid(oid), oid, value, isHex };
}

/** RFC 4514 §3: `attributeType = descr / numericoid`; `OID.` prefix as in RFC 1779. */
function readAttributeType(cursor: Cursor): string {
  NUMERIC_OID.lastIndex = cursor.pos;
  const numeric = NUMERIC_OID.exec(cursor.text);
  if (numeric) {
    cursor.pos = NUMERIC_OID.lastIndex;
    return numeric[1]!;
  }
  DESCRIPTOR.lastIndex = cursor.pos;
  const descriptor = DESCRIPTOR.exec(cursor.text);
  if (!descriptor) throw invalidDn(`expected an attribute type at position ${cursor.pos}`);
  const oid = oidForDescriptor(descriptor[0]);
  if (!oid) throw invalidDn(`unknown attribute type '${descriptor[0]}': write it as a dotted OID`);
  cursor.pos = DESCRIPTOR.lastIndex;
  return oid;
}

function readAttributeValue(cursor: Cursor): { value: string; isHex: boolean } {
  const first = cursor.text[cursor.pos];
  if (first === '#') return readHexValue(cursor);
  if (first === '"') return { value: readQuotedValue(cursor), isHex: false };
  return { value: readStringValue(cursor), isHex: false };
}

function readHexValue(cursor: Cursor): { value: string; isHex: boolean } {
  HEX_VALUE.lastIndex = cursor.pos;
  const match = HEX_VALUE.exec(cursor.text);
  if (!match || match[1]!.length % 2 !== 0) throw invalidDn(`malformed #hex value at position ${cursor.pos}`);
  cursor.pos = HEX_VALUE.lastIndex;
  expectValueEnd(cursor);
  return decodeHexValue(match[1]!);
}

/** A `#hex` value holds a BER-encoded value; a directory string inside is read as text. */
function decodeHexValue(hex: string): { value: string; isHex: boolean } {
  const ber = Buffer.from(hex, 'hex');
  try {
    const tlv = readTlv(ber, 0);
    if (tlv.end !== ber.length) throw new DerError('trailing bytes');
    const text = decodeDirectoryString(ber, tlv);
    return text === undefined ? { value: `#${hex.toLowerCase()}`, isHex: true } : { value: text, isHex: false };
  } catch (error) {
    if (error instanceof DerError || error instanceof TypeError)
      throw invalidDn('#hex value is not a valid BER encoding');
    throw error;
  }
}

/** RFC 2253 §4: a value may be quoted; separators inside quotes are literal. */
function readQuotedValue(cursor: Cursor): string {
  const bytes: number[] = [];
  cursor.pos++;
  for (;;) {
    const ch = cursor.text[cursor.pos];
    if (ch === undefined) throw invalidDn('unterminated quoted value');
    if (ch === '"') break;
    if (ch === '\\') readEscape(cursor, bytes);
    else pushChar(cursor, bytes);
  }
  cursor.pos++;
  expectValueEnd(cursor);
  return decodeUtf8(bytes);
}

/**
 * RFC 4514 §3 `string`: runs to an unescaped `,`, `;` or `+`. Unescaped trailing spaces are
 * not part of the value; escaped ones are.
 */
function readStringValue(cursor: Cursor): string {
  const bytes: number[] = [];
  let significant = 0;
  for (;;) {
    const ch = cursor.text[cursor.pos];
    if (ch === undefined || ch === ',' || ch === ';' || ch === '+') break;
    if (ch === '\\') {
      readEscape(cursor, bytes);
      significant = bytes.length;
    } else if (ch === '"' || ch === '\0') {
      throw invalidDn(`unescaped ${ch === '"' ? 'quote' : 'NUL'} at position ${cursor.pos}`);
    } else {
      pushChar(cursor, bytes);
      if (ch !== ' ') significant = bytes.length;
    }
  }
  return decodeUtf8(bytes.slice(0, significant));
}

/** RFC 4514 §3 `pair = ESC ( ESC / special / hexpair )`. */
function readEscape(cursor: Cursor, bytes: number[]): void {
  const next = cursor.text[cursor.pos + 1];
  const after = cursor.text[cursor.pos + 2];
  if (next !== undefined && after !== undefined && HEX_DIGIT.test(next) && HEX_DIGIT.test(after)) {
    bytes.push(parseInt(next + after, 16));
    cursor.pos += 3;
    return;
  }
  if (next === undefined || !SPECIALS.includes(next)) throw invalidDn(`invalid escape at position ${cursor.pos}`);
  bytes.push(next.charCodeAt(0));
  cursor.pos += 2;
}

function expectValueEnd(cursor: Cursor): void {
  skipSpaces(cursor);
  const ch = cursor.text[cursor.pos];
  if (ch !== undefined && ch !== ',' && ch !== ';' && ch !== '+') {
    throw invalidDn(`unexpected '${ch}' after value at position ${cursor.pos}`);
  }
}

function skipSpaces(cursor: Cursor): void {
  while (cursor.text[cursor.pos] === ' ') cursor.pos++;
}

function pushChar(cursor: Cursor, bytes: number[]): void {
  const ch = String.fromCodePoint(cursor.text.codePointAt(cursor.pos)!);
  for (const byte of Buffer.from(ch, 'utf8')) bytes.push(byte);
  cursor.pos += ch.length;
}

function decodeUtf8(bytes: number[]): string {
  try {
    return nameValueUtf8.decode(Uint8Array.from(bytes));
  } catch {
    throw invalidDn('escaped bytes are not valid UTF-8');
  }
}

// ---- parsing: OpenSSL one-line slash form ----

/** What must follow a `/` or `+` for it to separate rather than belong to a value. */
const TYPE_AHEAD = /^ *(?:(?:oid\.)?[0-9]+(?:\.[0-9]+)+|[A-Za-z][A-Za-z0-9-]*) *=/i;

function parseSlashForm(text: string): RelativeDistinguishedName[] {
  const rdns = splitAtSeparator(text.slice(1), '/').map((component) =>
    splitAtSeparator(component, '+').map(parseSlashAttribute),
  );
  // X509_NAME_oneline writes the RDNSequence first to last; RFC 4514 order is the reverse.
  return rdns.reverse();
}

function splitAtSeparator(text: string, separator: '/' | '+'): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator && TYPE_AHEAD.test(text.slice(i + 1))) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function parseSlashAttribute(text: string): AttributeTypeAndValue {
  const cursor: Cursor = { text, pos: 0 };
  skipSpaces(cursor);
  const oid = readAttributeType(cursor);
  skipSpaces(cursor);
  if (text[cursor.pos] !== '=') throw invalidDn(`expected '=' in '/'-separated component`);
  cursor.pos++;
  skipSpaces(cursor);
  return { type: displayNameForOid(oid), oid, value: unescapeSlashValue(cursor), isHex: false };
}

/** OpenSSL one-line values: `\xHH` bytes (X509_NAME_oneline), `\HH` bytes, `\c` literal. */
function unescapeSlashValue(cursor: Cursor): string {
  const bytes: number[] = [];
  let significant = 0;
  const { text } = cursor;
  while (cursor.pos < text.length) {
    if (text[cursor.pos] !== '\\') {
      const ch = text[cursor.pos];
      pushChar(cursor, bytes);
      if (ch !== ' ') significant = bytes.length;
      continue;
    }
    const hex = /^\\x?([0-9A-Fa-f]{2})/.exec(text.slice(cursor.pos, cursor.pos + 4));
    if (hex) {
      bytes.push(parseInt(hex[1]!, 16));
      cursor.pos += hex[0].length;
    } else if (cursor.pos + 1 < text.length) {
      cursor.pos++;
      pushChar(cursor, bytes);
    } else {
      throw invalidDn('dangling escape at the end of a value');
    }
    significant = bytes.length;
  }
  return decodeUtf8(bytes.slice(0, significant));
}

function invalidDn(reason: string): DomainError {
  return new BadRequestError(`malformed distinguished name: ${reason}`, { code: 'invalid_dn' });
}
