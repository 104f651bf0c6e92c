/**
 * The few DER reading steps needed to take the issuer and subject names out of a certificate
 * (X.690 §8.1 and §10: definite lengths only). Internal to this lib.
 */

export interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the last content byte. */
  readonly end: number;
  /** Offset of the tag byte. */
  readonly offset: number;
}

export class DerError extends Error {}

export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated DER');
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in names');
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // X.690 §10.1: DER uses the definite form; 0x80 (indefinite) is BER only.
    if (count === 0 || count > 4) throw new DerError('unsupported DER length');
    if (start + count > limit) throw new DerError('truncated DER');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new DerError('truncated DER');
  return { tag, start, end, offset };
}

/** The TLVs directly inside a constructed TLV. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end;) {
    const child = readTlv(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** X.690 §8.19: dotted-decimal form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(der: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x06 || tlv.end === tlv.start) throw new DerError('expected an OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = der[i]!;
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
    if (byte & 0x80) continue;
    if (arcs.length === 0) {
      const first = value < 80 ? Math.floor(value / 40) : 2;
      arcs.push(first, value - first * 40);
    } else {
      arcs.push(value);
    }
    value = 0;
  }
  if (der[tlv.end - 1]! & 0x80) throw new DerError('truncated OID');
  return arcs.join('.');
}

/**
 * Strict UTF-8 for name values, DER and RFC 4514 escapes alike. ignoreBOM: a leading U+FEFF is
 * part of the value; the default would drop it, and then two different names (with and without
 * it) would read as the same.
 */
export const nameValueUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of a directory string (X.520 DirectoryString and the IA5/Printable types), or
 * undefined for a type that has no string form (RFC 4514 §2.4 then prints it as `#hex`).
 */
export function decodeDirectoryString(der: Uint8Array, tlv: Tlv): string | undefined {
  const bytes = der.subarray(tlv.start, tlv.end);
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      return nameValueUtf8.decode(bytes);
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString: read as Latin-1, as OpenSSL does
      return Buffer.from(bytes).toString('latin1');
    case 0x1e: // BMPString: UCS-2 big-endian
      if (bytes.length % 2 !== 0) throw new DerError('odd BMPString length');
      return wellFormed(Buffer.from(bytes).swap16().toString('utf16le'));
    case 0x1c: {
      // UniversalString: UCS-4 big-endian
      if (bytes.length % 4 !== 0) throw new DerError('bad UniversalString length');
      const codePoints: number[] = [];
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < bytes.length; i += 4) codePoints.push(view.getUint32(i));
      let text: string;
      try {
        text = String.fromCodePoint(...codePoints);
      } catch {
        throw new DerError('bad UniversalString code point');
      }
      return wellFormed(text);
    }
    default:
      return undefined;
  }
}

/**
 * UCS-2 and UCS-4 can carry surrogate code points, which are not characters: a string holding
 * one could not be printed and read back as the same DN (UTF-8 turns it into U+FFFD).
 */
function wellFormed(text: string): string {
  if (/[\uD800-\uDFFF]/u.test(text)) throw new DerError('unpaired surrogate in a directory string');
  return text;
}
